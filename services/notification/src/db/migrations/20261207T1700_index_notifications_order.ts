import type { Kysely } from "kysely";

/** ListOrderNotifications reads an order's notifications newest first. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("notifications_order_idx").on("notifications").columns(["order_id", "id desc"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("notifications_order_idx").execute();
}
