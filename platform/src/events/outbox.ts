import { context, type Span, SpanKind, trace } from "@opentelemetry/api";
import { type Generated, type Kysely, type Migration, type QueryCreator, sql, type Transaction } from "kysely";
import type { Logger } from "../logger.js";
import { eventsPublished, type OutboxBacklog } from "../telemetry/metrics.js";
import { contextFromTraceparent, currentTraceparent, lazyTracer, recordFailure } from "../telemetry/tracing.js";
import { type Backoff, backoffDelay, interruptibleSleep } from "./backoff.js";
import type { Envelope } from "./envelope.js";
import { messagingAttributes } from "./delivery.js";
import type { EventBus } from "./event-bus.js";

/** The `outbox` table of a producing service's schema. */
export interface OutboxTable {
  seq: Generated<number | bigint>;
  id: string;
  type: string;
  source: string;
  key: string;
  payload: Uint8Array;
  traceparent: string | null;
  time: Date;
  created_at: Generated<Date>;
  published_at: Date | null;
}

/**
 * The outbox table, for a producing service's migration list:
 * `migrateToLatest(db, schema, { ...outboxMigrations, ...ownMigrations }, logger)`.
 * Names sort before any migration written after this kit, so kysely's order check holds.
 */
export const outboxMigrations: Record<string, Migration> = {
  "20261124T0000_events_outbox": {
    async up(db: Kysely<any>) {
      await sql`
        create table outbox (
          seq bigserial primary key,
          id uuid not null unique,
          type text not null,
          source text not null,
          key text not null,
          payload bytea not null,
          traceparent text,
          time timestamptz not null,
          created_at timestamptz not null default now(),
          published_at timestamptz
        );
        create index outbox_pending_idx on outbox (seq) where published_at is null;`.execute(db);
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable("outbox").execute();
    },
  },
};

/** An outbox row as the relay reads it: the event and its place in the outbox. */
export type OutboxRow = Pick<OutboxTable, "id" | "type" | "source" | "key" | "payload" | "traceparent" | "time"> & {
  seq: number | bigint;
};

/**
 * Records events for publication, inside the caller's transaction: they are published
 * if and only if it commits. Write them after locking or updating the aggregate, so
 * events of one key get their `seq` in the order they happened. Returns the rows written:
 * hand them to {@link OutboxRelay.notify} right after the commit. `along` adds the change
 * itself as common table expressions of the same statement (e.g. `(qc) => qc.with("updated",
 * …)`), so that change and events cost one statement.
 */
export async function writeOutbox<DB>(
  trx: Transaction<DB>,
  events: Envelope | readonly Envelope[],
  along?: (qc: QueryCreator<DB>) => QueryCreator<any>,
): Promise<OutboxRow[]> {
  if (!trx.isTransaction) throw new Error("writeOutbox must run inside the transaction that makes the change");
  const list = Array.isArray(events) ? events : [events as Envelope];
  if (list.length === 0) {
    if (along) throw new Error("writeOutbox with a change along needs an event to write");
    return [];
  }
  const rows = list.map((e) => ({
    id: e.id,
    type: e.type,
    source: e.source,
    key: e.key,
    payload: e.payload,
    traceparent: e.traceparent ?? null,
    time: e.time,
  }));
  const qc = (along ? along(trx) : trx) as unknown as QueryCreator<{ outbox: OutboxTable }>;
  const inserted = await qc.insertInto("outbox").values(rows).returning(["id", "seq"]).execute();
  const seqs = new Map(inserted.map((r) => [r.id, r.seq]));
  return rows.map((r) => ({ ...r, seq: seqs.get(r.id) as number | bigint }));
}

export interface OutboxRelayOptions {
  /** The producing service's schema handle (`database.kysely(schema)`). */
  db: Kysely<any>;
  /** The producing service: the `service` label of `shopmesh_outbox_published_total`; without it nothing is counted. */
  service?: string;
  bus: EventBus;
  logger: Logger;
  /** Rows per publish; default 100 (Kafka needs batches to be fast). */
  batchSize?: number;
  /**
   * Batches per transaction, claimed and marked while the one before is published; default 10.
   * After a failed publish the whole pass is published again.
   */
  batchesPerPass?: number;
  /** How often to look for rows when nobody calls `notify()`; default 500 ms. */
  pollMs?: number;
  /** Delay between attempts while the bus fails; default 100 ms doubling to 5 s. */
  retry?: Backoff;
  /**
   * With a bus whose publish resolves once the events are handled: rows published and not yet
   * handled, at most, before the relay waits; default 1,000.
   */
  maxUnhandled?: number;
}

export interface OutboxRelay {
  /** Starts publishing in the background. */
  start(): void;
  /**
   * Wakes the relay now, e.g. right after a transaction that wrote the outbox committed. Given
   * the rows that transaction wrote ({@link writeOutbox}'s result), called right after its
   * commit and before anything else is awaited, a relay onto a bus that resolves once the events
   * are handled hands them over without reading them back.
   */
  notify(written?: readonly OutboxRow[]): void;
  /** Stops after the batch in flight is published (or has failed); pending rows stay for the next start. */
  stop(): Promise<void>;
}

/**
 * Publishes the outbox rows in `seq` order and marks them published. Rows are claimed
 * (`for update skip locked`), published and marked in one transaction per pass of up to
 * `batchesPerPass` batches: a failed publish rolls the pass back and is retried with backoff, so
 * no row is dropped (a row may be published again after a failure mid-pass; consumers dedupe).
 * Within a pass, Postgres and the broker work at once: the next batch is claimed and the last
 * one marked while a batch is being published; publishes themselves stay one after the other.
 * A claim skips only the batch in flight, so a row of an older transaction that committed late
 * is published before any newer row of its key. On Postgres, replicas take turns through a
 * transaction-scoped advisory lock per schema: with `skip locked` alone, a second relay would
 * publish the next batch while the first is still publishing the one before, breaking per-key
 * order. A relay that finds the lock taken waits `pollMs`. `stop()` waits for `bus.publish` in
 * flight, so a bus must bound its own calls. Onto a bus that resolves a publish once the events
 * are handled (in process), the relay works as its `deliverPass` says: rows handed over by their
 * writer go out without a claim, and marks wait for the next claim.
 */
export function createOutboxRelay({
  db,
  service,
  bus,
  logger,
  batchSize = 100,
  batchesPerPass = 10,
  pollMs = 500,
  retry = { initialMs: 100, maxMs: 5_000 },
  maxUnhandled = 1_000,
}: OutboxRelayOptions): OutboxRelay {
  let running = false;
  let loop: Promise<void> | undefined;
  let pending = false;
  let wake: (() => void) | undefined;
  let backingOff = false;

  const tracer = lazyTracer(service ?? "shopmesh");

  /**
   * Publishes `events`, each under a PRODUCER span that continues the trace of the change that
   * wrote it (the row's traceparent) and whose context the event carries on, so that its
   * consumers' spans are children of its publication.
   */
  async function publishTraced(events: Envelope[]): Promise<void> {
    const spans: Span[] = [];
    const sent = events.map((event) => {
      const parent = contextFromTraceparent(event.traceparent);
      const span = tracer().startSpan(
        `send ${event.type}`,
        { kind: SpanKind.PRODUCER, attributes: messagingAttributes(event, "send") },
        parent,
      );
      spans.push(span);
      return { ...event, traceparent: context.with(trace.setSpan(parent, span), currentTraceparent) ?? event.traceparent };
    });
    try {
      await bus.publish(sent);
    } catch (err) {
      for (const span of spans) recordFailure(span, err);
      throw err;
    } finally {
      for (const span of spans) span.end();
    }
  }

  type Row = OutboxRow;

  /** The oldest unpublished rows but those whose `seq` is in `inFlight` (published, not marked yet). */
  function unpublished(db: QueryCreator<any>, inFlight: readonly (number | bigint)[]) {
    let query = db
      .selectFrom("outbox")
      .select(["seq", "id", "type", "source", "key", "payload", "traceparent", "time"])
      .where("published_at", "is", null);
    if (inFlight.length > 0) query = query.where("seq", "not in", inFlight);
    return query.orderBy("seq").limit(batchSize);
  }

  /** {@link unpublished}, locked for this pass. */
  function claim(trx: Transaction<any>, inFlight: readonly Row[]): Promise<Row[]> {
    return unpublished(
      trx,
      inFlight.map((r) => r.seq),
    )
      .forUpdate()
      .skipLocked()
      .execute();
  }

  async function markPublished(db: Kysely<any>, seqs: readonly (number | bigint)[]): Promise<void> {
    await db.updateTable("outbox").set({ published_at: sql`now()` }).where("seq", "in", seqs).execute();
  }

  const envelope = (r: Row): Envelope => ({
    id: r.id,
    type: r.type,
    source: r.source,
    key: r.key,
    // pg gives a Buffer: hand over a plain Uint8Array view of it.
    payload: new Uint8Array(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength),
    time: r.time,
    traceparent: r.traceparent ?? undefined,
  });

  /**
   * One pass: up to `batchesPerPass` batches in one transaction, pipelined so that Postgres and
   * the broker work at the same time: while batch N is being published, the transaction marks
   * batch N−1 and claims batch N+1. Publishes stay sequential, in `seq` order. Returns the rows
   * published and whether the last claim was full (more may be waiting).
   */
  async function publishPass(): Promise<{ published: number; full: boolean }> {
    return db.transaction().execute(async (trx) => {
      const { rows: locked } = await sql<{ ok: boolean }>`
        select pg_try_advisory_xact_lock(hashtext(current_schema() || '.outbox')) as ok`.execute(trx);
      if (!locked[0]?.ok) return { published: 0, full: false };
      let batch = await claim(trx, []);
      let marking: Promise<void> = Promise.resolve();
      let published = 0;
      let batches = 0;
      let full = batch.length === batchSize;
      while (batch.length > 0) {
        batches++;
        const more = full && batches < batchesPerPass && running;
        const publishing = publishTraced(batch.map(envelope));
        // Queued on the transaction's connection behind the previous batch's mark.
        const claiming = more ? claim(trx, batch) : Promise.resolve([]);
        // Every statement settles before the transaction may roll back.
        const [sent, claimed, marked] = await Promise.allSettled([publishing, claiming, marking]);
        for (const r of [sent, claimed, marked]) if (r.status === "rejected") throw r.reason;
        const next = claimed.status === "fulfilled" ? claimed.value : [];
        marking = markPublished(
          trx,
          batch.map((r) => r.seq),
        );
        published += batch.length;
        if (service !== undefined) for (const r of batch) eventsPublished.inc({ service, type: r.type });
        // A stop lets the batch in flight finish; the one claimed behind it waits for the next start.
        batch = running ? next : [];
        if (more) full = next.length === batchSize;
      }
      await marking;
      return { published, full };
    });
  }

  /**
   * With a bus that resolves a publish once its events are handled (in process): publishes are
   * not awaited one by one, or one slow consumer would hold back every other; a row is marked
   * once its publish resolved, together with the others handled by then, in the statement of
   * the next claim (at the latest `pollMs` later; at once when a batch's worth waits). Rows a
   * writer hands over after its commit (`notify(rows)`) are published at once, without a claim,
   * while the relay is caught up: its last claim found less than a batch, so every older row is
   * in its hands already. Otherwise (at start, with a backlog, after a failure) rows are found by
   * claims, oldest first; a claim also runs every `pollMs` for rows nobody handed over. Rows
   * published and not yet marked are left out of the claims. After a publish rejects (a
   * consumer stopped), nothing new is published until every publish in flight has settled, and
   * the claims start again from the oldest row not marked, so that a key's events are never
   * handed over out of order.
   */
  const unhandled = new Map<string, number | bigint>();
  let handled: Array<number | bigint> = [];
  let dropped: unknown;
  let inFlight = 0;
  let caughtUp = false;
  /** Rows handed over while a claim is running: published after its rows, if it finds the relay caught up. */
  let arriving: Row[] | undefined;

  function deliver(rows: readonly Row[]): void {
    const fresh = rows.filter((r) => !unhandled.has(String(r.seq)));
    if (fresh.length === 0) return;
    for (const r of fresh) unhandled.set(String(r.seq), r.seq);
    if (service !== undefined) for (const r of fresh) eventsPublished.inc({ service, type: r.type });
    inFlight++;
    publishTraced(fresh.map(envelope))
      .then(
        () => {
          for (const r of fresh) handled.push(r.seq);
        },
        (err: unknown) => {
          dropped ??= err;
          caughtUp = false;
        },
      )
      .finally(() => {
        inFlight--;
        // Caught up, the marks wait for the next claim; otherwise the relay goes on at once.
        if (dropped !== undefined || !caughtUp || handled.length >= batchSize) wakeNow();
      });
  }

  /** Rows a writer committed: published now when the relay is caught up, else left for a claim. */
  function handOver(rows: readonly Row[]): void {
    if (rows.length === 0) return;
    if (arriving) {
      arriving.push(...rows);
      return;
    }
    if (caughtUp && running && dropped === undefined && unhandled.size < maxUnhandled) {
      deliver(rows);
      return;
    }
    // Left to the claims, and so is every later row: they must not overtake these.
    caughtUp = false;
    notify();
  }

  /** Marks `seqs` published and reads the oldest unpublished rows but `inFlight`, in one statement. */
  function markAndClaim(seqs: readonly (number | bigint)[], inFlight: readonly (number | bigint)[]): Promise<Row[]> {
    if (seqs.length === 0) return unpublished(db, inFlight).execute();
    const marking = db.with("marked", (qc) =>
      qc.updateTable("outbox").set({ published_at: sql`now()` }).where("seq", "in", seqs).returning("seq"),
    );
    return unpublished(marking, inFlight).execute();
  }

  async function deliverPass(): Promise<{ published: number; full: boolean }> {
    const marked = handled;
    handled = [];
    const markOnly = dropped !== undefined || unhandled.size >= maxUnhandled;
    if (markOnly) {
      if (marked.length > 0) {
        try {
          await markPublished(db, marked);
        } catch (err) {
          handled.push(...marked);
          throw err;
        }
        for (const seq of marked) unhandled.delete(String(seq));
      }
      if (dropped === undefined || inFlight > 0) return { published: 0, full: false };
      const err = dropped;
      dropped = undefined;
      unhandled.clear();
      throw err;
    }
    arriving = [];
    let rows: Row[];
    try {
      rows = await markAndClaim(marked, [...unhandled.values()]);
    } catch (err) {
      handled.push(...marked);
      arriving = undefined;
      caughtUp = false;
      throw err;
    }
    for (const seq of marked) unhandled.delete(String(seq));
    const later = arriving;
    arriving = undefined;
    const full = rows.length === batchSize;
    caughtUp = !full;
    deliver(rows);
    if (later.length > 0) handOver(later);
    return { published: rows.length, full };
  }

  const pass = bus.resolvesWhen === "handled" ? deliverPass : publishPass;

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      pending = false;
      let delayMs = pollMs;
      try {
        const { full } = await pass();
        if (failures > 0) logger.info({ failures }, "outbox relay publishing again");
        failures = 0;
        if (full) continue;
      } catch (err) {
        failures++;
        delayMs = Math.round(backoffDelay(failures, retry));
        logger.warn({ err, failures, delay_ms: delayMs }, "outbox relay failed to publish; retrying");
      }
      if (!running || (pending && failures === 0)) continue;
      const sleep = interruptibleSleep(delayMs);
      wake = sleep.wake;
      backingOff = failures > 0;
      await sleep.done;
      wake = undefined;
    }
  }

  function notify(written?: readonly OutboxRow[]): void {
    if (written && bus.resolvesWhen === "handled") {
      handOver(written);
      return;
    }
    wakeNow();
  }

  function wakeNow(): void {
    pending = true;
    // While the bus fails, a notify does not cut the backoff short.
    if (!backingOff) wake?.();
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    notify,
    async stop() {
      running = false;
      wake?.();
      await loop;
      loop = undefined;
      if (handled.length > 0) {
        const marked = handled;
        handled = [];
        // What is not marked now is published again at the next start: a duplicate, not a loss.
        await markPublished(db, marked).catch((err: unknown) => logger.warn({ err }, "outbox relay could not mark its last rows"));
      }
    },
  };
}

/** The rows of `db`'s outbox not yet published and the age of the oldest (for the backlog gauges). */
export async function outboxBacklog(db: Kysely<any>): Promise<OutboxBacklog> {
  const { rows } = await sql<{ pending: number | string; age: number | string | null }>`
    select count(*)::int as pending, extract(epoch from now() - min(created_at))::float8 as age
    from outbox where published_at is null`.execute(db);
  const row = rows[0];
  return { pending: Number(row?.pending ?? 0), oldestAgeSeconds: Math.max(0, Number(row?.age ?? 0)) };
}
