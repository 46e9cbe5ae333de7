import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import * as grpc from "@grpc/grpc-js";
import { rpcDuration } from "../telemetry/metrics.js";
import { type MethodLabels, OK, rpcDurationRecorder } from "../telemetry/rpc-metrics.js";
import { lazyTracer, recordFailure } from "../telemetry/tracing.js";
import { ATTR_RPC_GRPC_STATUS_CODE, metadataSetter, rpcAttributes } from "./trace-context.js";

const kinds = {
  "false,false": "unary",
  "false,true": "server_streaming",
  "true,false": "client_streaming",
  "true,true": "bidi_streaming",
} as const;

const untraced = new Set(["grpc.health.v1.Health"]);

interface MethodInfo extends MethodLabels {
  readonly service: string;
  readonly name: string;
}

/**
 * A grpc-js client interceptor for the calls `caller` makes (every attempt of a retried one): a
 * CLIENT span, child of the span active where the call is made, whose W3C context goes out in
 * the `traceparent` metadata; with a `caller`, the call's duration until its status arrived in
 * `shopmesh_rpc_client_duration_seconds` by method, kind and code. Health checks get no span.
 */
export function clientObserver(caller: string | undefined): grpc.Interceptor {
  const durations = caller === undefined ? undefined : rpcDurationRecorder(rpcDuration.client, caller);
  const methods = new Map<string, MethodInfo>();
  const tracer = lazyTracer(caller ?? "shopmesh");
  return (options, nextCall) => {
    const def = options.method_definition;
    let m = methods.get(def.path);
    if (!m) {
      const [service = "", name = ""] = def.path.slice(1).split("/");
      m = { method: def.path.slice(1), kind: kinds[`${def.requestStream},${def.responseStream}`], service, name };
      methods.set(def.path, m);
    }
    const method = m;
    const started = performance.now();
    const parent = context.active();
    const span = untraced.has(method.service)
      ? undefined
      : tracer().startSpan(method.method, { kind: SpanKind.CLIENT, attributes: rpcAttributes(method) }, parent);
    return new grpc.InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        if (span) propagation.inject(trace.setSpan(parent, span), metadata, metadataSetter);
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            durations?.(method, status.code as number, performance.now() - started);
            if (span) {
              span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, status.code);
              if (status.code !== OK) recordFailure(span, undefined, grpc.status[status.code]);
              span.end();
            }
            nextStatus(status);
          },
        });
      },
    });
  };
}
