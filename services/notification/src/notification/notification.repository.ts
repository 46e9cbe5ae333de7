import type { Kysely, Transaction } from "kysely";
import type { NotificationDb, NotificationRow } from "../db/tables.js";
import type { DeliveryStatus, Notification } from "./notification.js";

type Db = Kysely<NotificationDb> | Transaction<NotificationDb>;

/** Remembers (or updates) where to reach a user. */
export async function upsertRecipient(db: Db, r: { userId: string; email: string; name: string }): Promise<void> {
  await db
    .insertInto("recipients")
    .values({ user_id: r.userId, email: r.email, name: r.name })
    .onConflict((oc) => oc.column("user_id").doUpdateSet({ email: r.email, name: r.name, updated_at: new Date() }))
    .execute();
}

export async function findRecipient(db: Db, userId: string): Promise<{ email: string; name: string } | undefined> {
  return db.selectFrom("recipients").select(["email", "name"]).where("user_id", "=", userId).executeTakeFirst();
}

/** Inserts a notification; undefined when its source event already has one. */
export async function insertNotification(
  db: Db,
  n: Omit<Notification, "createdAt" | "deliveredAt" | "channel">,
): Promise<Notification | undefined> {
  const row = await db
    .insertInto("notifications")
    .values({
      id: n.id,
      user_id: n.userId,
      channel: "email",
      recipient: n.recipient,
      subject: n.subject,
      body: n.body,
      kind: n.kind,
      source_event_id: n.sourceEventId,
      order_id: n.orderId ?? null,
      status: n.status,
      failure_reason: n.failureReason ?? null,
    })
    .onConflict((oc) => oc.column("source_event_id").doNothing())
    .returningAll()
    .executeTakeFirst();
  return row && toNotification(row);
}

/** Moves a PENDING notification to its delivery outcome; false when it was no longer pending. */
export async function markDelivered(
  db: Db,
  id: string,
  outcome: { status: Exclude<DeliveryStatus, "pending">; failureReason?: string },
): Promise<boolean> {
  const res = await db
    .updateTable("notifications")
    .set({
      status: outcome.status,
      failure_reason: outcome.failureReason ?? null,
      delivered_at: outcome.status === "failed" ? null : new Date(),
    })
    .where("id", "=", id)
    .where("status", "=", "pending")
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

export async function listPending(db: Db, limit: number): Promise<Notification[]> {
  const rows = await db.selectFrom("notifications").selectAll().where("status", "=", "pending").orderBy("id").limit(limit).execute();
  return rows.map(toNotification);
}

/** A user's notifications, newest first, after `beforeId` when given. */
export async function listByUser(db: Db, userId: string, limit: number, beforeId: string | undefined): Promise<Notification[]> {
  let q = db.selectFrom("notifications").selectAll().where("user_id", "=", userId);
  if (beforeId !== undefined) q = q.where("id", "<", beforeId);
  const rows = await q.orderBy("id", "desc").limit(limit).execute();
  return rows.map(toNotification);
}

function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    userId: row.user_id,
    channel: row.channel,
    recipient: row.recipient,
    subject: row.subject,
    body: row.body,
    kind: row.kind,
    sourceEventId: row.source_event_id,
    orderId: row.order_id ?? undefined,
    status: row.status,
    failureReason: row.failure_reason ?? undefined,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at ?? undefined,
  };
}
