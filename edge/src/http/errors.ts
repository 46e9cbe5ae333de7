import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, RetryInfoSchema } from "@shopmesh/proto/google/rpc/error_details_pb.js";
import { codeName, fieldViolationsOf } from "@shopmesh/platform";

/** HTTP status of a REST answer for each code (STYLE.md "Errors → status codes"). */
export function httpStatusOf(code: Code): number {
  switch (code) {
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return 400;
    case Code.Unauthenticated:
      return 401;
    case Code.PermissionDenied:
      return 403;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
    case Code.FailedPrecondition:
    case Code.Aborted:
      return 409;
    case Code.ResourceExhausted:
      return 429;
    case Code.Canceled:
      return 499;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
      return 503;
    case Code.DeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

/** Codes whose message is ours to hide: the caller gets a generic one. */
function genericMessage(code: Code): string | undefined {
  switch (code) {
    case Code.Internal:
    case Code.Unknown:
    case Code.DataLoss:
      return "internal error";
    // Transport failures carry addresses and socket errors; upstream services use these codes
    // for "try again later", which the generic text says as well.
    case Code.Unavailable:
      return "service unavailable";
    case Code.DeadlineExceeded:
      return "deadline exceeded";
    default:
      return undefined;
  }
}

/**
 * The error a caller of the edge sees for anything thrown while serving it. A ConnectError
 * keeps its code; its message is kept unless the code says it may carry internals; metadata
 * and details of upstream errors are dropped, except the field violations of INVALID_ARGUMENT
 * (google.rpc.BadRequest). Anything else is INTERNAL "internal error". The original stays as
 * `cause` for the log.
 */
export function toPublicError(err: unknown): ConnectError {
  if (isEdgeRejection(err)) return err;
  if (!(err instanceof ConnectError)) return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
  const generic = genericMessage(err.code);
  if (generic === undefined && err.details.length === 0 && !hasHeaders(err.metadata)) return err;
  // UNKNOWN and DATA_LOSS say as little to a caller as INTERNAL does; one code for all three.
  const code = isServerFault(err.code) ? Code.Internal : err.code;
  const violations = code === Code.InvalidArgument ? fieldViolationsOf(err) : [];
  return violations.length > 0
    ? new ConnectError(err.rawMessage, code, undefined, [{ desc: BadRequestSchema, value: { fieldViolations: violations } }], err)
    : new ConnectError(generic ?? err.rawMessage, code, undefined, undefined, err);
}

function hasHeaders(h: Headers): boolean {
  for (const _ of h.keys()) return true;
  return false;
}

/** Whether an error deserves an error-level log line (our bug or an upstream's). */
export function isServerFault(code: Code): boolean {
  return code === Code.Internal || code === Code.Unknown || code === Code.DataLoss;
}

/**
 * The JSON body of every REST error: {"code":"not_found","message":"…"}, plus for a request
 * with bad fields "field_violations":[{"field":"email","description":"…"}] (its BadRequest detail).
 */
export function errorBody(err: ConnectError): string {
  const violations = fieldViolationsOf(err);
  if (violations.length === 0) return JSON.stringify({ code: codeName(err.code), message: err.rawMessage });
  return JSON.stringify({ code: codeName(err.code), message: err.rawMessage, field_violations: violations });
}

/** An error of the HTTP layer itself (body too large, unknown route), with its own status. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: Code,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

const rejections = new WeakSet<object>();

/**
 * A refusal of the edge's own making (rate limit, stream limit): sent as it is, metadata
 * included, where an upstream error would have its details and metadata dropped. (Not a
 * subclass: ConnectError's instanceof check refuses subclasses with a name of their own.)
 */
export function edgeRejection(
  message: string,
  code: Code,
  metadata?: Readonly<Record<string, string>>,
  details?: ConstructorParameters<typeof ConnectError>[3],
): ConnectError {
  const err = new ConnectError(message, code, metadata, details);
  rejections.add(err);
  return err;
}

/** Whether `err` is an {@link edgeRejection}. */
export function isEdgeRejection(err: unknown): err is ConnectError {
  return typeof err === "object" && err !== null && rejections.has(err);
}

/**
 * RESOURCE_EXHAUSTED (HTTP 429) telling the caller when to try again: a `retry-after` header
 * (seconds) on REST and Connect answers, the same key in gRPC trailers, and a google.rpc.RetryInfo
 * error detail for Connect and gRPC clients.
 */
export function rateLimited(retryAfterSeconds: number, what: string): ConnectError {
  return edgeRejection(
    `${what}: too many requests, retry after ${retryAfterSeconds} s`,
    Code.ResourceExhausted,
    { "retry-after": String(retryAfterSeconds) },
    [{ desc: RetryInfoSchema, value: { retryDelay: { seconds: BigInt(retryAfterSeconds) } } }],
  );
}
