import * as grpc from "@grpc/grpc-js";
import { rpcDuration } from "../telemetry/metrics.js";
import { type MethodLabels, rpcDurationRecorder } from "../telemetry/rpc-metrics.js";

const kinds = {
  "false,false": "unary",
  "false,true": "server_streaming",
  "true,false": "client_streaming",
  "true,true": "bidi_streaming",
} as const;

/**
 * A grpc-js client interceptor that observes every call (every attempt of a retried one) made by
 * `service`: its duration until the status arrived, into `shopmesh_rpc_client_duration_seconds`
 * by method, kind and code.
 */
export function clientObserver(service: string): grpc.Interceptor {
  const durations = rpcDurationRecorder(rpcDuration.client, service);
  const labels = new Map<string, MethodLabels>();
  return (options, nextCall) => {
    const def = options.method_definition;
    let m = labels.get(def.path);
    if (!m) {
      m = { method: def.path.slice(1), kind: kinds[`${def.requestStream},${def.responseStream}`] };
      labels.set(def.path, m);
    }
    const method = m;
    const started = performance.now();
    return new grpc.InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            durations(method, status.code as number, performance.now() - started);
            nextStatus(status);
          },
        });
      },
    });
  };
}
