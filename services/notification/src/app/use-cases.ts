import { type Envelope, type Logger, uuidv7 } from "@shopmesh/platform";
import type { Kysely } from "kysely";
import type { Mailer } from "../clients/mailer.js";
import * as repo from "../db/notification.repository.js";
import type { NotificationDb } from "../db/tables.js";
import { compose, type Fact, type Notification, RECIPIENT_UNKNOWN, redactEmails } from "../domain/notification.js";

export interface NotificationsOptions {
  readonly db: Kysely<NotificationDb>;
  readonly mailer: Mailer;
  readonly logger: Logger;
}

export interface NotificationPage {
  readonly items: Notification[];
  /** Id to continue before; undefined on the last page. */
  readonly nextBeforeId: string | undefined;
}

/**
 * The notification use cases. Delivery happens in two steps so that a redelivered event never
 * sends twice: {@link Notifications.record} stores the notification as PENDING in the statement
 * that records the event in the inbox; after that commits, {@link Notifications.deliver} hands
 * it to the mailer and marks it SENT, CAPTURED or FAILED. A crash after the mailer accepted an
 * email but before the mark leaves it PENDING; {@link Notifications.deliverPending} (run at
 * start) then sends it once more — at most one duplicate email, never a lost one.
 */
export interface Notifications {
  /**
   * Records the notification for `fact`, caused by `event`, and the event in the inbox, in one
   * statement. A welcome also remembers the user's address for later notifications. An order
   * notification for a user whose UserRegistered was never seen is stored FAILED ("recipient
   * unknown"): final, listed to the user, not retried. Undefined when the event was consumed
   * before; else the notification, with `pending` when it awaits delivery.
   */
  record(event: Envelope, fact: Fact): Promise<{ pending: Notification | undefined } | undefined>;
  /** Sends a PENDING notification and records the outcome; never rejects for a transport failure. */
  deliver(notification: Notification): Promise<void>;
  /** Delivers what a previous run left PENDING; resolves to how many. */
  deliverPending(): Promise<number>;
  /** The user's notifications, newest first. */
  list(userId: string, pageSize: number, beforeId: string | undefined): Promise<NotificationPage>;
  /** The notifications about one order, whoever they were for, newest first, at most `limit`. */
  listForOrder(orderId: string, limit: number): Promise<Notification[]>;
}

export function createNotifications({ db, mailer, logger }: NotificationsOptions): Notifications {
  const deliver = async (n: Notification): Promise<void> => {
    let outcome: { status: "sent" | "captured" | "failed"; failureReason?: string };
    try {
      outcome = { status: await mailer.send({ to: n.recipient, subject: n.subject, text: n.body }) };
    } catch (err) {
      const reason = redactEmails(err instanceof Error ? err.message : String(err)).slice(0, 500);
      // Addresses are never logged: the user id and notification id identify the email.
      logger.warn({ notification_id: n.id, user_id: n.userId, kind: n.kind, reason }, "email delivery failed");
      outcome = { status: "failed", failureReason: reason };
    }
    await repo.markDelivered(db, n.id, outcome);
    if (outcome.status !== "failed")
      logger.info({ notification_id: n.id, user_id: n.userId, kind: n.kind, status: outcome.status }, "notification delivered");
  };

  return {
    async record(event, fact) {
      const recipient = fact.kind === "welcome" ? { email: fact.email, name: fact.name } : await repo.findRecipient(db, fact.userId);
      const message = compose(fact, recipient?.name || undefined);
      const inserted = await repo.claimAndInsertNotification(
        db,
        event,
        {
          id: uuidv7(),
          userId: fact.userId,
          recipient: recipient?.email ?? "",
          subject: message.subject,
          body: message.body,
          kind: fact.kind,
          orderId: fact.kind === "welcome" ? undefined : fact.orderId,
          status: recipient ? "pending" : "failed",
          failureReason: recipient ? undefined : RECIPIENT_UNKNOWN,
        },
        fact.kind === "welcome" ? { userId: fact.userId, email: fact.email, name: fact.name } : undefined,
      );
      if (!inserted) return undefined;
      if (!recipient) {
        logger.warn({ notification_id: inserted.id, user_id: fact.userId, kind: fact.kind }, "notification not sent: recipient unknown");
      }
      return { pending: inserted.status === "pending" ? inserted : undefined };
    },

    deliver,

    async deliverPending() {
      let count = 0;
      for (;;) {
        const batch = await repo.listPending(db, 100);
        for (const n of batch) await deliver(n);
        count += batch.length;
        if (batch.length < 100) return count;
      }
    },

    async list(userId, pageSize, beforeId) {
      const rows = await repo.listByUser(db, userId, pageSize + 1, beforeId);
      const items = rows.slice(0, pageSize);
      return { items, nextBeforeId: rows.length > pageSize ? items.at(-1)?.id : undefined };
    },

    listForOrder(orderId, limit) {
      return repo.listByOrder(db, orderId, limit);
    },
  };
}
