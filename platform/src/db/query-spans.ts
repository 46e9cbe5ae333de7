import { context, type Span, SpanKind, trace } from "@opentelemetry/api";
import type { LogEvent } from "kysely";
import { recordFailure, tracerFor } from "../telemetry/tracing.js";

/**
 * A CLIENT span for a query that just ran (kysely reports it with its duration once it is
 * done, on the caller's async path), child of the span it ran in, and only when that span is
 * recorded: a query outside any traced work (the outbox relay polling) or in a trace that is
 * not sampled costs nothing. The span carries the parameterized SQL, never the parameters
 * (they may hold personal data), and belongs to the service whose span it is part of.
 */
export function traceQuery(schema: string, event: LogEvent): void {
  const parent = trace.getActiveSpan();
  if (!parent?.isRecording()) return;
  const ms = event.queryDurationMillis;
  const text = event.query.sql;
  const operation = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase() ?? "query";
  const span = tracerFor(serviceOf(parent)).startSpan(
    `${operation} ${schema}`,
    {
      kind: SpanKind.CLIENT,
      startTime: performance.timeOrigin + performance.now() - ms,
      attributes: { "db.system.name": "postgresql", "db.namespace": schema, "db.operation.name": operation, "db.query.text": text },
    },
    context.active(),
  );
  if (event.level === "error") recordFailure(span, event.error);
  span.end();
}

/** The service.name of the SDK span `span` (a ReadableSpan carries its resource). */
function serviceOf(span: Span): string {
  const name = (span as { resource?: { attributes?: Record<string, unknown> } }).resource?.attributes?.["service.name"];
  return typeof name === "string" ? name : "shopmesh";
}
