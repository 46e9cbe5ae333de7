import { Code, ConnectError } from "@connectrpc/connect";

export { Code, ConnectError };

/** Shorthands for the errors handlers throw; the message names the field or the thing. */
export const invalidArgument = (field: string, why: string) => new ConnectError(`${field}: ${why}`, Code.InvalidArgument);
export const notFound = (what: string) => new ConnectError(`${what} not found`, Code.NotFound);
export const failedPrecondition = (why: string) => new ConnectError(why, Code.FailedPrecondition);
export const alreadyExists = (why: string) => new ConnectError(why, Code.AlreadyExists);
export const unauthenticated = (why = "missing or invalid credentials") => new ConnectError(why, Code.Unauthenticated);
export const permissionDenied = (why = "permission denied") => new ConnectError(why, Code.PermissionDenied);
export const unavailable = (why: string, cause?: unknown) => new ConnectError(why, Code.Unavailable, undefined, undefined, cause);

/**
 * The error sent to a caller for anything thrown: a ConnectError keeps its code and message;
 * anything else becomes INTERNAL "internal error" with the original kept as `cause` for logs.
 */
export function toRpcError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (isDeadlineError(err)) return new ConnectError("deadline exceeded", Code.DeadlineExceeded, undefined, undefined, err);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

function isDeadlineError(err: unknown): boolean {
  return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError") && /deadline|timeout/i.test(err.message);
}

/** Lowercase snake name of a code, as used in JSON error bodies ("not_found"). */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
