import { Code, ConnectError } from "@connectrpc/connect";
import { codeName, toRpcError } from "../errors.js";
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

/** One log line per call: method, code, duration; the cause of internal errors at error level. */
export const logging: ServerInterceptor = (next) => async (ctx) => {
  const started = performance.now();
  try {
    const result = await next(ctx);
    const level = ctx.method.parent.typeName === "grpc.health.v1.Health" ? "debug" : "info";
    ctx.log[level]({ code: "ok", duration_ms: round(performance.now() - started) }, "rpc");
    return result;
  } catch (err) {
    const e = toRpcError(err);
    const fields = { code: codeName(e.code), duration_ms: round(performance.now() - started) };
    if (expectedCodes.has(e.code)) ctx.log.info({ ...fields, message: e.rawMessage }, "rpc");
    else if (e.code === Code.Internal || e.code === Code.Unknown || e.code === Code.DataLoss)
      ctx.log.error({ ...fields, err: e.cause ?? e }, "rpc failed");
    else ctx.log.warn({ ...fields, message: e.rawMessage }, "rpc");
    throw e;
  }
};

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

export const defaultInterceptors: readonly ServerInterceptor[] = [logging, errorMapping, deadlines];

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
