import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeName, toRpcError } from "../errors.js";
import { type Logger, roundMs } from "../logger.js";
import { rpcDuration } from "../telemetry/metrics.js";
import { type MethodLabels, methodLabels, OK, rpcDurationRecorder } from "../telemetry/rpc-metrics.js";
import type { CallContext } from "./context.js";
import { runInCall } from "./context.js";

/**
 * The whole execution of one call: for unary and client-streaming methods it resolves to the
 * response; for server- and bidi-streaming methods it resolves once every response was written.
 */
export type CallNext = (ctx: CallContext) => Promise<unknown>;

/** Wraps the execution of every call of a server, like middleware. */
export type ServerInterceptor = (next: CallNext) => CallNext;

export function chainInterceptors(interceptors: readonly ServerInterceptor[], inner: CallNext): CallNext {
  return interceptors.reduceRight<CallNext>((next, interceptor) => interceptor(next), inner);
}

/** Codes that say the caller did something wrong or a dependency is away: not our bug. */
const expectedCodes = new Set<Code>([
  Code.Canceled,
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.FailedPrecondition,
  Code.Aborted,
  Code.OutOfRange,
  Code.Unauthenticated,
  Code.ResourceExhausted,
]);

/**
 * Error mapping: whatever a handler throws leaves as a ConnectError. Domain errors keep their
 * code; anything else becomes INTERNAL "internal error", its cause kept for the log line.
 */
export const errorMapping: ServerInterceptor = (next) => async (ctx) => {
  try {
    return await next(ctx);
  } catch (err) {
    if (ctx.signal.aborted && !(err instanceof ConnectError)) {
      const reason: unknown = ctx.signal.reason;
      if (reason instanceof ConnectError) throw reason;
    }
    throw toRpcError(err);
  }
};

/**
 * What every served call leaves behind: one log line (method, code, duration; the cause of
 * internal errors at error level) and one observation of `shopmesh_rpc_server_duration_seconds`
 * (by method, kind and code) for `service`.
 *
 * The summary line has fixed fields (code, duration_ms, a message string) that no redaction path
 * can match, so it is written by a child of the call's logger with redaction off: pino runs every
 * field of every line through the wildcard redactor otherwise (several KB of garbage per line).
 * Lines carrying an error object keep the redacting logger.
 */
export function observe(service: string): ServerInterceptor {
  const durations = rpcDurationRecorder(rpcDuration.server, service);
  const labels = new WeakMap<DescMethod, MethodLabels>();
  const labelsOf = (m: DescMethod) => {
    let l = labels.get(m);
    if (!l) {
      l = methodLabels(m);
      labels.set(m, l);
    }
    return l;
  };
  return (next) => async (ctx) => {
    const started = performance.now();
    try {
      const result = await next(ctx);
      const ms = performance.now() - started;
      durations(labelsOf(ctx.method), OK, ms);
      const level = ctx.method.parent.typeName === "grpc.health.v1.Health" ? "debug" : "info";
      summaryLogger(ctx.log)[level]({ code: "ok", duration_ms: roundMs(ms) }, "rpc");
      return result;
    } catch (err) {
      const e = toRpcError(err);
      const ms = performance.now() - started;
      durations(labelsOf(ctx.method), e.code, ms);
      const fields = { code: codeName(e.code), duration_ms: roundMs(ms) };
      if (expectedCodes.has(e.code)) summaryLogger(ctx.log).info({ ...fields, message: e.rawMessage }, "rpc");
      else if (e.code === Code.Internal || e.code === Code.Unknown || e.code === Code.DataLoss)
        ctx.log.error({ ...fields, err: e.cause ?? e }, "rpc failed");
      else summaryLogger(ctx.log).warn({ ...fields, message: e.rawMessage }, "rpc");
      throw e;
    }
  };
}

/** Per call logger (the server makes one per method): its non-redacting twin for summary lines. */
const summaryLoggers = new WeakMap<Logger, Logger>();

function summaryLogger(log: Logger): Logger {
  let summary = summaryLoggers.get(log);
  if (!summary) {
    summary = log.child({}, { redact: [] });
    summaryLoggers.set(log, summary);
  }
  return summary;
}

/**
 * Deadlines: refuses calls whose deadline already passed and runs the handler inside the call
 * context so that outgoing client calls inherit the remaining budget.
 */
export const deadlines: ServerInterceptor = (next) => async (ctx) => {
  if (ctx.deadline !== undefined && ctx.deadline <= Date.now()) {
    throw new ConnectError("deadline exceeded before the call started", Code.DeadlineExceeded);
  }
  return runInCall(ctx, () => next(ctx));
};

/** The interceptors every server of `service` runs first: observation → error mapping → deadlines. */
export function defaultInterceptors(service: string): ServerInterceptor[] {
  return [observe(service), errorMapping, deadlines];
}
