import { type Kysely, sql } from "kysely";

/** Payments may be refunded in parts, each refund once: the amount refunded so far and the refunds made. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("payments")
    .addColumn("refunded_cents", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update payments set refunded_cents = amount_cents where status = 'REFUNDED'`.execute(db);
  await sql`alter table payments add constraint payments_refunded_cents_check check (refunded_cents between 0 and amount_cents)`.execute(
    db,
  );
  await db.schema
    .createTable("payment_refunds")
    .addColumn("order_id", "text", (c) => c.notNull())
    .addColumn("refund_id", "text", (c) => c.notNull())
    .addColumn("amount_cents", "integer", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addPrimaryKeyConstraint("payment_refunds_pkey", ["order_id", "refund_id"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("payment_refunds").execute();
  await db.schema.alterTable("payments").dropColumn("refunded_cents").execute();
}
