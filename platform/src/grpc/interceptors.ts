import type { DescMethod } from "@bufbuild/protobuf";
import { context, INVALID_SPAN_CONTEXT, propagation, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeName, toRpcError } from "../errors.js";
import { type Logger, roundMs } from "../logger.js";
import { rpcDuration } from "../telemetry/metrics.js";
import { lazyTracer, recordFailure } from "../telemetry/tracing.js";
import { type MethodLabels, methodLabels, OK, rpcDurationRecorder } from "../telemetry/rpc-metrics.js";
import type { CallContext } from "./context.js";
import { runInCall } from "./context.js";
import { ATTR_RPC_GRPC_STATUS_CODE, metadataGetter, rpcAttributes } from "./trace-context.js";

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
 * What every served call leaves behind: a SERVER span (child of the caller's, from the
 * `traceparent` metadata), one log line (method, code, duration; the cause of internal errors
 * at error level) and one observation of `shopmesh_rpc_server_duration_seconds` (by method,
 * kind and code) for `service`. The call runs inside the span: its log lines carry its ids and
 * the calls and queries it makes are its children. Health checks get no span.
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
  const tracer = lazyTracer(service);
  return (next) => async (ctx) => {
    const started = performance.now();
    const m = labelsOf(ctx.method);
    const health = ctx.method.parent.typeName === "grpc.health.v1.Health";
    const parent = propagation.extract(ROOT_CONTEXT, ctx.metadata, metadataGetter);
    const span = health
      ? trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
      : tracer().startSpan(m.method, { kind: SpanKind.SERVER, attributes: rpcAttributes(ctx.method) }, parent);
    return context.with(trace.setSpan(parent, span), async () => {
      try {
        const result = await next(ctx);
        const ms = performance.now() - started;
        durations(m, OK, ms);
        span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, OK);
        summaryLogger(ctx.log)[health ? "debug" : "info"]({ code: "ok", duration_ms: roundMs(ms), ...caller(ctx) }, "rpc");
        return result;
      } catch (err) {
        const e = toRpcError(err);
        const ms = performance.now() - started;
        durations(m, e.code, ms);
        span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, e.code);
        const fields = { code: codeName(e.code), duration_ms: roundMs(ms), ...caller(ctx) };
        if (expectedCodes.has(e.code)) summaryLogger(ctx.log).info({ ...fields, message: e.rawMessage }, "rpc");
        else if (isServerFault(e.code)) {
          recordFailure(span, e.cause ?? e, codeName(e.code));
          ctx.log.error({ ...fields, err: e.cause ?? e }, "rpc failed");
        } else {
          recordFailure(span, e, codeName(e.code));
          summaryLogger(ctx.log).warn({ ...fields, message: e.rawMessage }, "rpc");
        }
        throw e;
      } finally {
        span.end();
      }
    });
  };
}

/** The verified caller, for the summary line (written after the call context is gone). */
function caller(ctx: CallContext): { user_id?: string } {
  return ctx.principal ? { user_id: ctx.principal.userId } : {};
}

function isServerFault(code: Code): boolean {
  return code === Code.Internal || code === Code.Unknown || code === Code.DataLoss;
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
