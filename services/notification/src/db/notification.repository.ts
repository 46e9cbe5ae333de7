import { type Envelope, withDbErrors, withInboxClaim } from "@shopmesh/platform";
import type { Kysely, Transaction } from "kysely";
import type { NotificationDb, NotificationRow } from "./tables.js";
import type { DeliveryStatus, Notification } from "../domain/notification.js";

type Db = Kysely<NotificationDb> | Transaction<NotificationDb>;

/** Where to reach a user, when known. */
export async function findRecipient(db: Db, userId: string): Promise<{ email: string; name: string } | undefined> {
  return withDbErrors(async () => {
    return db.selectFrom("recipients").select(["email", "name"]).where("user_id", "=", userId).executeTakeFirst();
  });
}

/**
 * In one statement: records `event` in the inbox (see withInboxClaim) and, unless it was there
 * already, the notification it causes (and, given, the recipient it tells of). Undefined for an
 * event consumed before.
 */
export async function claimAndInsertNotification(
  db: Kysely<NotificationDb>,
  event: Envelope,
  n: Omit<Notification, "createdAt" | "deliveredAt" | "channel" | "sourceEventId">,
  recipient?: { userId: string; email: string; name: string },
): Promise<Notification | undefined> {
  return withDbErrors(async () => {
    let qc = withInboxClaim<NotificationDb>(db, event);
    if (recipient) {
      qc = qc.with("remembered", (q) =>
        q
          .insertInto("recipients")
          .columns(["user_id", "email", "name"])
          .expression((eb) =>
            eb
              .selectFrom("inbox_claim")
              .select((sb) => [
                sb.val(recipient.userId).as("user_id"),
                sb.val(recipient.email).as("email"),
                sb.val(recipient.name).as("name"),
              ]),
          )
          .onConflict((oc) =>
            oc
              .column("user_id")
              .doUpdateSet((eb) => ({ email: eb.ref("excluded.email"), name: eb.ref("excluded.name"), updated_at: new Date() })),
          )
          .returning("user_id"),
      ) as unknown as typeof qc;
    }
    const row = await qc
      .insertInto("notifications")
      .columns([
        "id",
        "user_id",
        "channel",
        "recipient",
        "subject",
        "body",
        "kind",
        "source_event_id",
        "order_id",
        "status",
        "failure_reason",
      ])
      .expression((eb) =>
        eb
          .selectFrom("inbox_claim")
          .select((sb) => [
            sb.cast(sb.val(n.id), "uuid").as("id"),
            sb.val(n.userId).as("user_id"),
            sb.val("email").as("channel"),
            sb.val(n.recipient).as("recipient"),
            sb.val(n.subject).as("subject"),
            sb.val(n.body).as("body"),
            sb.val(n.kind).as("kind"),
            sb.cast(sb.val(event.id), "uuid").as("source_event_id"),
            sb.cast(sb.val(n.orderId ?? null), "text").as("order_id"),
            sb.val(n.status).as("status"),
            sb.cast(sb.val(n.failureReason ?? null), "text").as("failure_reason"),
          ]),
      )
      .onConflict((oc) => oc.column("source_event_id").doNothing())
      .returningAll()
      .executeTakeFirst();
    return row && toNotification(row);
  });
}

export async function markDelivered(
  db: Db,
  id: string,
  outcome: { status: Exclude<DeliveryStatus, "pending">; failureReason?: string },
): Promise<boolean> {
  return withDbErrors(async () => {
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
  });
}

export async function listPending(db: Db, limit: number): Promise<Notification[]> {
  return withDbErrors(async () => {
    const rows = await db.selectFrom("notifications").selectAll().where("status", "=", "pending").orderBy("id").limit(limit).execute();
    return rows.map(toNotification);
  });
}

/** A user's notifications, newest first, after `beforeId` when given. */
export async function listByUser(db: Db, userId: string, limit: number, beforeId: string | undefined): Promise<Notification[]> {
  return withDbErrors(async () => {
    let q = db.selectFrom("notifications").selectAll().where("user_id", "=", userId);
    if (beforeId !== undefined) q = q.where("id", "<", beforeId);
    const rows = await q.orderBy("id", "desc").limit(limit).execute();
    return rows.map(toNotification);
  });
}

/** The notifications about one order, newest first, at most `limit`. */
export async function listByOrder(db: Db, orderId: string, limit: number): Promise<Notification[]> {
  return withDbErrors(async () => {
    const rows = await db
      .selectFrom("notifications")
      .selectAll()
      .where("order_id", "=", orderId)
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
    return rows.map(toNotification);
  });
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
