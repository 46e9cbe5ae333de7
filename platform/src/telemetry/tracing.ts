import { type Context, context, propagation, ROOT_CONTEXT, type Span, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { TracingConfig } from "../config.js";

interface TracingState {
  readonly processors: SpanProcessor[];
  readonly sampler: Sampler;
  readonly serviceName: string | undefined;
  /** One provider per service, so that each service's spans carry its own service.name (embedded mode hosts six). */
  readonly providers: Map<string, NodeTracerProvider>;
}

let state: TracingState | undefined;

export interface TracingSetup {
  /** Spans go to these instead of the exporter named by the config (tests: an in-memory exporter). */
  readonly spanProcessors?: SpanProcessor[];
  /** Overrides the sampler chosen by the config. */
  readonly sampler?: Sampler;
}

/**
 * Sets up tracing for this process, once (later calls are no-ops): the W3C trace-context
 * propagator, async context tracking, and where spans go from `config` — the standard
 * OTEL_* variables. Without an exporter, spans are not recorded but still get ids: they
 * propagate across gRPC and the bus, and log lines carry them. A process that never calls it
 * gets that no-exporter set-up on its first span. Returns whether this call set it up.
 */
export function setupTracing(config: Partial<TracingConfig> = {}, setup: TracingSetup = {}): boolean {
  if (state) return false;
  const exporter = config.OTEL_TRACES_EXPORTER ?? (config.OTEL_EXPORTER_OTLP_ENDPOINT ? "otlp" : "none");
  let processors: SpanProcessor[];
  if (setup.spanProcessors) processors = setup.spanProcessors;
  else if (exporter === "otlp") {
    const url = config.OTEL_EXPORTER_OTLP_ENDPOINT && `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, "")}/v1/traces`;
    processors = [new BatchSpanProcessor(new OTLPTraceExporter(url ? { url } : {}))];
  } else if (exporter === "console") processors = [new SimpleSpanProcessor(new ConsoleSpanExporter())];
  else processors = [];
  const sampler =
    setup.sampler ??
    (processors.length === 0 ? new AlwaysOffSampler() : samplerOf(config.OTEL_TRACES_SAMPLER, config.OTEL_TRACES_SAMPLER_ARG));
  state = { processors, sampler, serviceName: config.OTEL_SERVICE_NAME, providers: new Map() };
  // The process-wide provider: context manager and propagator for everyone, spans of code
  // that asks the API for a tracer.
  providerFor("shopmesh").register();
  return true;
}

function samplerOf(name: TracingConfig["OTEL_TRACES_SAMPLER"] | undefined, arg: string | undefined): Sampler {
  const ratio = arg === undefined || Number.isNaN(Number(arg)) ? 1 : Math.min(1, Math.max(0, Number(arg)));
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function providerFor(service: string): NodeTracerProvider {
  if (!state) setupTracing();
  const s = state as TracingState;
  let provider = s.providers.get(service);
  if (!provider) {
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: s.serviceName ?? service }),
      sampler: s.sampler,
      spanProcessors: s.processors,
    });
    s.providers.set(service, provider);
  }
  return provider;
}

/** The tracer of `service`: its spans carry service.name = `service` (or OTEL_SERVICE_NAME). */
export function tracerFor(service: string): Tracer {
  return providerFor(service).getTracer("shopmesh");
}

/**
 * {@link tracerFor}, asked on first use: code made before the process set tracing up (a server
 * created at import time) still uses what the process sets up.
 */
export function lazyTracer(service: string): () => Tracer {
  let tracer: Tracer | undefined;
  return () => {
    tracer ??= tracerFor(service);
    return tracer;
  };
}

/** Sends the spans still buffered and stops tracing (at the end of the process). */
export async function shutdownTracing(): Promise<void> {
  const s = state;
  if (!s) return;
  await Promise.allSettled([...s.providers.values()].map((p) => p.forceFlush()));
  await Promise.allSettled(s.processors.map((p) => p.shutdown()));
}

/** The W3C `traceparent` of the span active here, if any (what an event written now carries). */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** The context a W3C `traceparent` (and `tracestate`) stands for; the root context without one. */
export function contextFromTraceparent(traceparent: string | undefined, tracestate?: string): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, tracestate ? { traceparent, tracestate } : { traceparent });
}

/** Marks `span` failed with `err` (its class and message; never request data). */
export function recordFailure(span: Span, err: unknown, message?: string): void {
  if (!span.isRecording()) return;
  if (err instanceof Error) span.recordException({ name: err.name, message: err.message });
  span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
}
