import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@shopmesh/proto/google/rpc/error_details_pb.js";

export { Code, ConnectError };

/** One bad field of a request: its proto field path (snake_case, `a.b`, `a[0]`) and why. */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/**
 * INVALID_ARGUMENT carrying a `google.rpc.BadRequest` detail with one field violation per bad
 * field; the message lists them too ("email: not an email address; password: …").
 */
export function badRequest(violations: readonly FieldViolation[]): ConnectError {
  const message = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  const fieldViolations = violations.map(({ field, description }) => ({ field, description }));
  return new ConnectError(message, Code.InvalidArgument, undefined, [{ desc: BadRequestSchema, value: { fieldViolations } }]);
}

/** The field violations an error carries in its `google.rpc.BadRequest` details (none when it has none). */
export function fieldViolationsOf(err: ConnectError): FieldViolation[] {
  return err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map(({ field, description }) => ({ field, description })));
}

/** One bad field: INVALID_ARGUMENT "field: why" with its field violation. */
export const invalidArgument = (field: string, why: string) => badRequest([{ field, description: why }]);

/**
 * Collects the bad fields of a request so that the caller hears about all of them at once:
 *
 *     const v = violations();
 *     v.check(req.qty > 0, "qty", "must be positive");
 *     const email = v.parse(() => parseEmail("email", req.email), "");
 *     v.throwIfAny();
 */
export class Violations {
  readonly #list: FieldViolation[] = [];

  get list(): readonly FieldViolation[] {
    return this.#list;
  }

  add(field: string, description: string): void {
    this.#list.push({ field, description });
  }

  /** Records a violation unless `ok`; returns `ok`. */
  check(ok: boolean, field: string, description: string): boolean {
    if (!ok) this.add(field, description);
    return ok;
  }

  /**
   * The value `parse` returns, or `fallback` (never used: `throwIfAny` throws) after recording
   * the violations of the INVALID_ARGUMENT it threw. Any other error passes through.
   */
  parse<T>(parse: () => T, fallback: T): T {
    try {
      return parse();
    } catch (err) {
      const found = err instanceof ConnectError && err.code === Code.InvalidArgument ? fieldViolationsOf(err) : [];
      if (found.length === 0) throw err;
      this.#list.push(...found);
      return fallback;
    }
  }

  /** Throws `badRequest` with every violation recorded, if there is any. */
  throwIfAny(): void {
    if (this.#list.length > 0) throw badRequest(this.#list);
  }
}

export const violations = () => new Violations();

/** Shorthands for the errors handlers throw; the message names the thing. */
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
