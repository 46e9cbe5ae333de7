import { type Kysely, type Migration, sql, type Transaction } from "kysely";
import { currentCall } from "../grpc/context.js";
import { uuidv7 } from "../events/envelope.js";
import type { KeysetCursor } from "../paging/keyset-token.js";

/** The `audit_log` table of every service's schema: the operator actions taken on it. */
export interface AuditLogTable {
  id: string;
  actor: string;
  action: string;
  target: string;
  reason: string;
  details: unknown;
  created_at: Date;
}

/** The audit log, migrated into every service's schema by `defineService`. */
export const auditMigrations: Record<string, Migration> = {
  "20261207T1500_platform_audit_log": {
    async up(db: Kysely<any>) {
      await sql`
        create table audit_log (
          id uuid primary key,
          actor text not null,
          action text not null,
          target text not null,
          reason text not null,
          details jsonb not null default '{}',
          created_at timestamptz not null default now()
        );
        create index audit_log_listing_idx on audit_log (created_at desc, id desc);`.execute(db);
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable("audit_log").execute();
    },
  },
};

/** One operator action to record. */
export interface AuditRecord {
  /** Who; default: the caller of the RPC being served ({@link callActor}). */
  readonly actor?: string;
  /** What, as `<thing>.<verb>`: "dead_letter.replay", "stock.adjust", "order.refund". */
  readonly action: string;
  /** On what: the id of the thing acted on. */
  readonly target: string;
  /** Why, as the operator said. */
  readonly reason: string;
  /** The action's particulars (amounts, deltas, the event's type): a JSON object. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Who is calling the RPC being served: the verified user's id (an operator, for operator
 * methods), else `workload:<name>` for a mesh workload (reconcile), else "anonymous".
 */
export function callActor(): string {
  const call = currentCall();
  if (call?.principal) return call.principal.userId;
  if (call?.workload) return `workload:${call.workload}`;
  return "anonymous";
}

/**
 * Records an operator action in `audit_log`, in the caller's transaction: the action and its
 * record commit or roll back together.
 *
 * ```ts
 * await inTransaction(db, async (trx) => {
 *   await adjust(trx, productId, delta);
 *   await recordAudit(trx, { action: "stock.adjust", target: productId, reason, details: { delta } });
 * });
 * ```
 */
export async function recordAudit(trx: Transaction<any> | Kysely<any>, record: AuditRecord): Promise<AuditEntryRow> {
  return (trx as Kysely<{ audit_log: AuditLogTable }>)
    .insertInto("audit_log")
    .values({
      id: uuidv7(),
      actor: record.actor ?? callActor(),
      action: record.action,
      target: record.target,
      reason: record.reason,
      details: JSON.stringify(record.details ?? {}),
      created_at: new Date(),
    })
    .returningAll()
    .executeTakeFirstOrThrow() as Promise<AuditEntryRow>;
}

/** A row of `audit_log`. */
export type AuditEntryRow = Omit<AuditLogTable, "details"> & { details: Record<string, unknown> };

/** The entries, newest first, after `after` (the last of the previous page). */
export async function listAudit(db: Kysely<any>, limit: number, after: KeysetCursor | undefined): Promise<AuditEntryRow[]> {
  let q = (db as Kysely<{ audit_log: AuditLogTable }>).selectFrom("audit_log").selectAll();
  if (after) q = q.where(sql<boolean>`(created_at, id) < (${after.createdAt}, ${after.id}::uuid)`);
  const rows = await q.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute();
  return rows as AuditEntryRow[];
}
