import type { NotificationKind } from "../domain/notification.js";
import type { InboxTable, DeadLettersTable } from "@shopmesh/platform";
import type { Generated, Selectable } from "kysely";

/**
 * Where to reach each user, learnt from UserRegistered: notification never reads auth's
 * tables. Email is the normalised address from the event.
 */
export interface RecipientsTable {
  user_id: string;
  email: string;
  name: string;
  updated_at: Generated<Date>;
}

/** Every notification, whatever became of its delivery. One per source event (unique). */
export interface NotificationsTable {
  /** A UUIDv7, so that ordering by id is ordering by creation. */
  id: string;
  user_id: string;
  channel: "email";
  /** The address; empty when the recipient was unknown. */
  recipient: string;
  subject: string;
  body: string;
  kind: NotificationKind;
  source_event_id: string;
  order_id: string | null;
  status: "pending" | "sent" | "captured" | "failed";
  failure_reason: string | null;
  created_at: Generated<Date>;
  delivered_at: Date | null;
}

export interface NotificationDb {
  recipients: RecipientsTable;
  notifications: NotificationsTable;
  inbox: InboxTable;
  dead_letters: DeadLettersTable;
}

export type NotificationRow = Selectable<NotificationsTable>;
