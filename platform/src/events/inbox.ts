import { type Generated, type Kysely, type Migration, type QueryCreator, sql, type Transaction } from "kysely";
import { isTransientError } from "../db/errors.js";
import type { Logger } from "../logger.js";
import { type Backoff, backoffDelay, interruptibleSleep } from "./backoff.js";
import type { Envelope } from "./envelope.js";
import { type ConsumeResult, currentDelivery } from "./delivery.js";
import { applyInboxFault } from "./inbox-fault.js";

export type { ConsumeResult };

/** The `inbox` table of a consuming service's schema: the events it has consumed. */
export interface InboxTable {
  event_id: string;
  type: string;
  received_at: Generated<Date>;
}

/** The `dead_letters` table: events a consumer gave up on, kept whole for inspection or replay. */
export interface DeadLettersTable {
  event_id: string;
  type: string;
  source: string;
  key: string;
  payload: Uint8Array;
  traceparent: string | null;
  time: Date;
  error: string;
  attempts: number;
  created_at: Generated<Date>;
  /** The consumer group that gave up on it; null for letters stored before groups were recorded. */
  group_name: string | null;
  /** "dead" (waiting), "replaying", "replayed" or "discarded": see the operations service. */
  status: Generated<DeadLetterState>;
  resolved_by: string | null;
  resolution_reason: string | null;
  resolved_at: Date | null;
}

/** Where a dead letter stands: waiting, being delivered again, delivered again and handled, set aside. */
export type DeadLetterState = "dead" | "replaying" | "replayed" | "discarded";

/** The inbox and dead-letter tables, for a consuming service's migration list (see `outboxMigrations`). */
export const inboxMigrations: Record<string, Migration> = {
  "20261124T0001_events_inbox": {
    async up(db: Kysely<any>) {
      await sql`
        create table inbox (
          event_id uuid primary key,
          type text not null,
          received_at timestamptz not null default now()
        );
        create table dead_letters (
          event_id uuid primary key,
          type text not null,
          source text not null,
          key text not null,
          payload bytea not null,
          traceparent text,
          time timestamptz not null,
          error text not null,
          attempts integer not null,
          created_at timestamptz not null default now()
        );`.execute(db);
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable("dead_letters").execute();
      await db.schema.dropTable("inbox").execute();
    },
  },
  "20261207T1500_dead_letter_resolution": {
    async up(db: Kysely<any>) {
      await sql`
        alter table dead_letters
          add column group_name text,
          add column status text not null default 'dead'
            check (status in ('dead', 'replaying', 'replayed', 'discarded')),
          add column resolved_by text,
          add column resolution_reason text,
          add column resolved_at timestamptz;
        create index dead_letters_listing_idx on dead_letters (status, created_at desc, event_id desc);`.execute(db);
    },
    async down(db: Kysely<any>) {
      await sql`
        drop index dead_letters_listing_idx;
        alter table dead_letters drop column group_name, drop column status, drop column resolved_by,
          drop column resolution_reason, drop column resolved_at;`.execute(db);
    },
  },
};

/**
 * What consuming an event came to: applied now, with the handler's value; applied before (the
 * inbox has it); or given up on and stored in `dead_letters`.
 */
export type Consumed<T> = { readonly result: "handled"; readonly value: T } | { readonly result: "duplicate" | "dead-lettered" };

const DUPLICATE: Consumed<never> = { result: "duplicate" };

export interface ConsumeOptions<T = unknown> {
  logger: Logger;
  /** The consumer group, recorded with a dead letter (the one a replay delivers it to again). */
  group?: string;
  /** Attempts before the event is dead-lettered; default 5. */
  maxAttempts?: number;
  /** Delay between attempts; default 50 ms doubling to 2 s. */
  retry?: Backoff;
  /**
   * Called after the event was stored in `dead_letters` (e.g. to also send it to a DLQ
   * topic). If it throws, `consumeOnce` rejects and the bus delivers the event again;
   * it then counts as a duplicate.
   */
  onDeadLetter?: (event: Envelope, error: unknown) => Promise<void>;
  /**
   * Failures that say "not now" rather than "never": after `maxAttempts` of these,
   * `consumeOnce` rethrows instead of dead-lettering, so the bus delivers the event again
   * later. Default {@link isTransientError}.
   */
  isTransient?: (err: unknown) => boolean;
  /**
   * Called with the value of an attempt whose handler finished but whose transaction then
   * failed: its effect may or may not have committed (a later attempt finding the event
   * consumed says it did), so whatever the process derived from it cannot be trusted.
   */
  onUncertainCommit?: (value: T) => void;
}

/**
 * Applies `event` at most once: runs `handler` and records the event id in `inbox` in one
 * transaction, so the effect and the record commit or roll back together, and resolves to the
 * handler's value; an id already there → "duplicate", without calling the handler (a
 * concurrent second delivery waits on the first's row lock). A failing handler is retried with
 * backoff; after `maxAttempts` the event is logged at error and stored in `dead_letters` (and
 * recorded in `inbox`), and "dead-lettered" is returned, so the consumer moves on to the next
 * event — unless the last failure is transient (see {@link ConsumeOptions.isTransient}): then
 * it rejects and the bus redelivers. `db` is the consuming service's schema handle. A consumer
 * subscribes with `subscribeInbox`, which calls this.
 *
 * ```ts
 * const consumed = await consumeOnce(db, event, (trx) => payments.charge(trx, registry.decodeAs(StockReservedSchema, event)), { logger });
 * if (consumed.result === "handled") announce(consumed.value);
 * ```
 */
export async function consumeOnce<DB, T>(
  db: Kysely<DB>,
  event: Envelope,
  handler: (trx: Transaction<DB>) => Promise<T>,
  opts: ConsumeOptions<T>,
): Promise<Consumed<T>> {
  const attempt = () =>
    committing(db, opts, async (trx): Promise<Consumed<T>> => {
      if (!(await claim(trx, event))) return DUPLICATE;
      return { result: "handled", value: await handler(trx) };
    });
  return reported(event, await consume(db, event, attempt, opts));
}

/** The rows of the CTE {@link withInboxClaim} adds: the event's id when this statement recorded it. */
export interface InboxClaimTable {
  event_id: string;
}

/**
 * `db` with the CTE `inbox_claim`, which records `event` in the inbox and holds its id, or
 * nothing when the event was recorded before (a concurrent recording waits for the other's
 * commit). For a handler of {@link consumeClaimed}: its first statement starts with it and
 * makes its effect conditional on `exists (select from inbox_claim)`, so that the claim costs
 * no statement of its own.
 */
export function withInboxClaim<DB>(db: Kysely<DB>, event: Envelope): QueryCreator<DB & { inbox_claim: InboxClaimTable }> {
  return (db as unknown as Kysely<{ inbox: InboxTable }>).with("inbox_claim", (qc) =>
    qc
      .insertInto("inbox")
      .values({ event_id: event.id, type: event.type })
      .onConflict((oc) => oc.column("event_id").doNothing())
      .returning("event_id"),
  ) as unknown as QueryCreator<DB & { inbox_claim: InboxClaimTable }>;
}

export interface ConsumeClaimedOptions<T = unknown> extends ConsumeOptions<T> {
  /**
   * false: the handler gets `db` itself rather than a transaction, and claims the event and
   * makes its whole effect in one statement (which is atomic on its own), or else in a
   * transaction it opens. Default true.
   */
  transaction?: boolean;
}

/**
 * {@link consumeOnce} for a handler that records the event in the inbox itself, in its first
 * statement ({@link withInboxClaim}), and resolves to its value, or to false when it found the
 * event recorded: a duplicate, and the handler must then have changed nothing. Retries and
 * dead-lettering are consumeOnce's.
 */
export async function consumeClaimed<DB, T>(
  db: Kysely<DB>,
  event: Envelope,
  handler: (db: Kysely<DB>) => Promise<T | false>,
  opts: ConsumeClaimedOptions<T>,
): Promise<Consumed<T>> {
  const once = async (conn: Kysely<DB>): Promise<Consumed<T>> => {
    const value = await handler(conn);
    return value === false ? DUPLICATE : { result: "handled", value };
  };
  const attempt = () => (opts.transaction === false ? once(db) : committing(db, opts, once));
  return reported(event, await consume(db, event, attempt, opts));
}

/** `body` in a transaction; when the body was done but the transaction failed, its value goes to `onUncertainCommit`. */
async function committing<DB, T>(
  db: Kysely<DB>,
  { onUncertainCommit }: ConsumeOptions<T>,
  body: (trx: Transaction<DB>) => Promise<Consumed<T>>,
): Promise<Consumed<T>> {
  let done: Consumed<T> | undefined;
  try {
    return await db.transaction().execute(async (trx) => {
      done = await body(trx);
      return done;
    });
  } catch (err) {
    if (done?.result === "handled") onUncertainCommit?.(done.value);
    throw err;
  }
}

function reported<T>(event: Envelope, consumed: Consumed<T>): Consumed<T> {
  // Told to the observed delivery (see observeBus), for its log line and metrics.
  const delivery = currentDelivery();
  if (delivery?.event.id === event.id) delivery.result = consumed.result;
  return consumed;
}

async function consume<DB, T>(
  db: Kysely<DB>,
  event: Envelope,
  attempt: () => Promise<Consumed<T>>,
  {
    logger,
    group,
    maxAttempts = 5,
    retry = { initialMs: 50, maxMs: 2_000 },
    onDeadLetter,
    isTransient = isTransientError,
  }: ConsumeOptions<T>,
): Promise<Consumed<T>> {
  let lastError: unknown;
  for (let n = 1; n <= maxAttempts; n++) {
    try {
      // A fault injected into this delivery (FAULTS_EVENTS) fails the attempt, outside its transaction.
      await applyInboxFault();
      return await attempt();
    } catch (err) {
      lastError = err;
      if (n === maxAttempts) break;
      const delayMs = Math.round(backoffDelay(n, retry));
      logger.warn({ err, event_id: event.id, type: event.type, attempt: n, delay_ms: delayMs }, "event handling failed; retrying");
      await interruptibleSleep(delayMs).done;
    }
  }

  if (isTransient(lastError)) throw lastError;
  logger.error({ err: lastError, event_id: event.id, type: event.type, key: event.key, attempts: maxAttempts }, "event dead-lettered");
  const stored = await (db as Kysely<any>).transaction().execute(async (trx) => {
    if (!(await claim(trx, event))) return false;
    const error = describe(lastError);
    // A replayed letter that fails again is dead again, with its new error.
    await (trx as Transaction<{ dead_letters: DeadLettersTable }>)
      .insertInto("dead_letters")
      .values({
        event_id: event.id,
        type: event.type,
        source: event.source,
        key: event.key,
        payload: event.payload,
        traceparent: event.traceparent ?? null,
        time: event.time,
        error,
        attempts: maxAttempts,
        group_name: group ?? null,
      })
      .onConflict((oc) =>
        oc.column("event_id").doUpdateSet({
          error,
          attempts: maxAttempts,
          status: "dead",
          created_at: sql`now()`,
          resolved_by: null,
          resolution_reason: null,
          resolved_at: null,
        }),
      )
      .execute();
    return true;
  });
  if (!stored) return DUPLICATE; // handled by someone else meanwhile
  await onDeadLetter?.(event, lastError);
  return { result: "dead-lettered" };
}

/** Inserts the inbox row; false when the event was consumed before. */
async function claim(trx: Transaction<any>, event: Envelope): Promise<boolean> {
  const inserted = await (trx as Transaction<{ inbox: InboxTable }>)
    .insertInto("inbox")
    .values({ event_id: event.id, type: event.type })
    .onConflict((oc) => oc.column("event_id").doNothing())
    .returning("event_id")
    .executeTakeFirst();
  return inserted !== undefined;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
