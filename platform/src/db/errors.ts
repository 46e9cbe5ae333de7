import type { Kysely, Transaction } from "kysely";
import { Code, ConnectError } from "../errors.js";

/** Node socket errors that mean the database cannot be reached. */
const CONNECTION_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

/** pg's own client errors (no code) when the connection is gone or cannot be had. */
const PG_CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end/;

/**
 * The status an error from pg stands for, by its SQLSTATE (`err.code`), or undefined when it
 * is not one the caller can act on: a syntax error, a NOT NULL violation or anything else that
 * is a bug stays as it is and ends up INTERNAL.
 * The original error is kept as `cause` (for logs); messages carry no SQL or row data.
 * `what` names the thing in messages ("product" → "product already exists").
 */
export function translateDbError(err: unknown, what = "record"): ConnectError | undefined {
  if (err instanceof ConnectError || !(err instanceof Error)) return undefined;
  const raw: unknown = (err as { code?: unknown }).code;
  const code = typeof raw === "string" ? raw : undefined;
  const status = code ? statusForCode(code, err.message, what) : undefined;
  if (status) return new ConnectError(status[1], status[0], undefined, undefined, err);
  if (!code && PG_CONNECTION_MESSAGES.test(err.message)) {
    return new ConnectError("database unavailable", Code.Unavailable, undefined, undefined, err);
  }
  return undefined;
}

function statusForCode(code: string, message: string, what: string): [Code, string] | undefined {
  switch (code) {
    case "23505": // unique_violation
      return [Code.AlreadyExists, `${what} already exists`];
    case "23503": // foreign_key_violation
      return [Code.FailedPrecondition, `${what}: a referenced record does not exist or is still referenced`];
    case "23514": // check_violation
    case "23P01": // exclusion_violation
      return [Code.FailedPrecondition, `${what}: the change violates a constraint`];
    case "40001": // serialization_failure
    case "40P01": // deadlock_detected
    case "55P03": // lock_not_available (NOWAIT, lock_timeout)
      return [Code.Aborted, "concurrent update conflict; retry"];
    case "57014": // query_canceled: by statement_timeout or by a cancel request
      return /statement timeout/i.test(message)
        ? [Code.DeadlineExceeded, "database statement timeout"]
        : [Code.Canceled, "database query canceled"];
    case "57P01": // admin_shutdown
    case "57P02": // crash_shutdown
    case "57P03": // cannot_connect_now
    case "53300": // too_many_connections
      return [Code.Unavailable, "database unavailable"];
  }
  if (code.startsWith("08")) return [Code.Unavailable, "database unavailable"]; // connection_exception
  if (CONNECTION_ERRNOS.has(code)) return [Code.Unavailable, "database unavailable"];
  return undefined;
}

/**
 * Runs `fn`, rethrowing database errors as the ConnectError they stand for (see
 * {@link translateDbError}); other errors pass through untouched. Repositories wrap their
 * queries in it so handlers never look at SQLSTATEs.
 */
export async function withDbErrors<T>(fn: () => Promise<T>, what?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translateDbError(err, what) ?? err;
  }
}

/**
 * Runs `fn` in a transaction of `db`, translating database errors as {@link withDbErrors} does,
 * those of BEGIN and COMMIT included (a serialization failure at commit, a dropped connection).
 */
export function inTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>, what?: string): Promise<T> {
  return withDbErrors(() => db.transaction().execute(fn), what);
}

const TRANSIENT_CODES = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.ResourceExhausted]);

/**
 * A dependency down, a deadline hit or a serialization conflict: a ConnectError (or a
 * database error standing for one) with UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED or
 * RESOURCE_EXHAUSTED.
 */
export function isTransientError(err: unknown): boolean {
  const status = err instanceof ConnectError ? err : translateDbError(err);
  return status !== undefined && TRANSIENT_CODES.has(status.code);
}
