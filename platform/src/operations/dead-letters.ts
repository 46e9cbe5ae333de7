import { type Kysely, sql } from "kysely";
import { inTransaction, withDbErrors } from "../db/errors.js";
import { failedPrecondition, notFound } from "../errors.js";
import type { Envelope } from "../events/envelope.js";
import type { DeadLetterState, DeadLettersTable, InboxTable } from "../events/inbox.js";
import type { KeysetCursor } from "../paging/keyset-token.js";
import { type AuditLogTable, callActor, recordAudit } from "./audit.js";
import type { ConsumerDirectory } from "./consumers.js";

interface OpsDb {
  dead_letters: DeadLettersTable;
  inbox: InboxTable;
  audit_log: AuditLogTable;
}

/** A row of `dead_letters`. */
export interface DeadLetterRow {
  event_id: string;
  type: string;
  source: string;
  key: string;
  payload: Uint8Array;
  traceparent: string | null;
  time: Date;
  error: string;
  attempts: number;
  created_at: Date;
  group_name: string | null;
  status: DeadLetterState;
  resolved_by: string | null;
  resolution_reason: string | null;
  resolved_at: Date | null;
}

/** What a schema holds of the platform's event tables (a service that publishes or consumes nothing lacks them). */
async function eventTables(db: Kysely<any>): Promise<{ outbox: boolean; deadLetters: boolean }> {
  const { rows } = await sql<{ outbox: boolean; dead_letters: boolean }>`
    select to_regclass('outbox') is not null as outbox, to_regclass('dead_letters') is not null as dead_letters`.execute(db);
  return { outbox: rows[0]?.outbox === true, deadLetters: rows[0]?.dead_letters === true };
}

/** The outbox backlog, its oldest row's age, and the dead letters waiting. */
export async function eventHealth(db: Kysely<any>): Promise<{ backlog: number; oldestAgeSeconds: number; deadLetters: number }> {
  return withDbErrors(async () => {
    const tables = await eventTables(db);
    let backlog = 0;
    let oldestAgeSeconds = 0;
    let deadLetters = 0;
    if (tables.outbox) {
      const { rows } = await sql<{ pending: number; age: number | null }>`
        select count(*)::int as pending, extract(epoch from now() - min(created_at))::float8 as age
        from outbox where published_at is null`.execute(db);
      backlog = Number(rows[0]?.pending ?? 0);
      oldestAgeSeconds = Math.max(0, Number(rows[0]?.age ?? 0));
    }
    if (tables.deadLetters) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from dead_letters where status = 'dead'`.execute(db);
      deadLetters = Number(rows[0]?.n ?? 0);
    }
    return { backlog, oldestAgeSeconds, deadLetters };
  });
}

/** Letters in `status`, newest first, after `after` (the last of the previous page). */
export async function listDeadLetters(
  db: Kysely<any>,
  status: DeadLetterState,
  limit: number,
  after: KeysetCursor | undefined,
): Promise<DeadLetterRow[]> {
  return withDbErrors(async () => {
    if (!(await eventTables(db)).deadLetters) return [];
    let q = (db as Kysely<OpsDb>).selectFrom("dead_letters").selectAll().where("status", "=", status);
    if (after) q = q.where(sql<boolean>`(created_at, event_id) < (${after.createdAt}, ${after.id}::uuid)`);
    const rows = await q.orderBy("created_at", "desc").orderBy("event_id", "desc").limit(limit).execute();
    return rows as DeadLetterRow[];
  });
}

/** The ids of the waiting ("dead") letters, of `type` when given, oldest event first: the order to replay them in. */
export async function waitingLetterIds(db: Kysely<any>, type: string, limit: number): Promise<string[]> {
  return withDbErrors(async () => {
    if (!(await eventTables(db)).deadLetters) return [];
    let q = (db as Kysely<OpsDb>).selectFrom("dead_letters").select("event_id").where("status", "=", "dead");
    if (type !== "") q = q.where("type", "=", type);
    const rows = await q.orderBy("time").orderBy("event_id").limit(limit).execute();
    return rows.map((r) => r.event_id);
  });
}

async function lockLetter(trx: Kysely<OpsDb>, id: string): Promise<DeadLetterRow> {
  if (!(await eventTables(trx)).deadLetters) throw notFound(`dead letter ${id}`);
  const row = await trx.selectFrom("dead_letters").selectAll().where("event_id", "=", id).forUpdate().executeTakeFirst();
  if (!row) throw notFound(`dead letter ${id}`);
  return row as DeadLetterRow;
}

async function readLetter(db: Kysely<OpsDb>, id: string): Promise<DeadLetterRow> {
  const row = await db.selectFrom("dead_letters").selectAll().where("event_id", "=", id).executeTakeFirstOrThrow();
  return row as DeadLetterRow;
}

function envelopeOf(row: DeadLetterRow): Envelope {
  return {
    id: row.event_id,
    type: row.type,
    source: row.source,
    time: row.time,
    key: row.key,
    payload: row.payload,
    traceparent: row.traceparent ?? undefined,
  };
}

/**
 * Delivers a dead letter's event again to its consumer's handler, through the consumer's inbox,
 * so that its effect happens once, then answers the letter as it ends: "replayed", or "dead"
 * again (with the new error) when the consumer gave up on it again.
 *
 * In three steps. (1) In one transaction with the audit entry: the letter, locked, must be
 * "dead" (or "replaying", left so by a replay that did not finish); a "dead" letter's inbox row
 * (the record that it was given up on) is deleted, so the inbox takes the event again, and the
 * letter becomes "replaying". (2) Unless the inbox has the event again (an unfinished replay
 * applied it already), the handler runs, as a delivery from the bus would. (3) A letter still
 * "replaying" becomes "replayed". A replay stopped between the steps leaves the letter
 * "replaying", and replaying it again is safe: the inbox applies the event at most once.
 */
export async function replayDeadLetter(
  db: Kysely<any>,
  consumers: ConsumerDirectory,
  { id, reason, service }: { id: string; reason: string; service: string },
): Promise<DeadLetterRow> {
  const ops = db as Kysely<OpsDb>;
  const letter = await inTransaction(ops, async (trx) => {
    const row = await lockLetter(trx, id);
    if (row.status === "replayed" || row.status === "discarded") throw failedPrecondition(`dead letter ${id} is ${row.status} already`);
    if (!consumers.handlerOf(row.type, row.group_name ?? undefined))
      throw failedPrecondition(`no consumer of ${row.type} runs in this service to replay it`);
    if (row.status === "dead") await trx.deleteFrom("inbox").where("event_id", "=", id).execute();
    await trx
      .updateTable("dead_letters")
      .set({ status: "replaying", resolved_by: callActor(), resolution_reason: reason, resolved_at: null })
      .where("event_id", "=", id)
      .execute();
    await recordAudit(trx, {
      action: "dead_letter.replay",
      target: id,
      reason,
      details: { service, event_type: row.type, key: row.key, group: row.group_name, error: row.error },
    });
    return row;
  });
  const applied = await withDbErrors(() => ops.selectFrom("inbox").select("event_id").where("event_id", "=", id).executeTakeFirst());
  if (!applied) {
    const handler = consumers.handlerOf(letter.type, letter.group_name ?? undefined);
    if (!handler) throw failedPrecondition(`no consumer of ${letter.type} runs in this service to replay it`);
    await handler(envelopeOf(letter));
  }
  return withDbErrors(async () => {
    await ops
      .updateTable("dead_letters")
      .set({ status: "replayed", resolved_at: sql<Date>`now()` })
      .where("event_id", "=", id)
      .where("status", "=", "replaying")
      .execute();
    return readLetter(ops, id);
  });
}

/** Sets a "dead" letter aside for good ("discarded"), with the audit entry in the same transaction. */
export async function discardDeadLetter(
  db: Kysely<any>,
  { id, reason, service }: { id: string; reason: string; service: string },
): Promise<DeadLetterRow> {
  return inTransaction(db as Kysely<OpsDb>, async (trx) => {
    const row = await lockLetter(trx, id);
    if (row.status !== "dead") throw failedPrecondition(`dead letter ${id} is ${row.status}`);
    await trx
      .updateTable("dead_letters")
      .set({ status: "discarded", resolved_by: callActor(), resolution_reason: reason, resolved_at: sql<Date>`now()` })
      .where("event_id", "=", id)
      .execute();
    await recordAudit(trx, {
      action: "dead_letter.discard",
      target: id,
      reason,
      details: { service, event_type: row.type, key: row.key, group: row.group_name, error: row.error },
    });
    return readLetter(trx, id);
  });
}
