import { type Kysely, sql } from "kysely";

/** Orders may be refunded, whole or by line: PARTIALLY_REFUNDED, REFUNDED, and their refunds. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table orders drop constraint orders_status_check`.execute(db);
  await sql`alter table orders add constraint orders_status_check
    check (status in ('PENDING', 'STOCK_RESERVED', 'PAID', 'CANCELLED', 'ON_HOLD', 'PARTIALLY_REFUNDED', 'REFUNDED'))`.execute(db);
  await db.schema
    .createTable("order_refunds")
    .addColumn("order_id", "uuid", (c) => c.notNull().references("orders.id"))
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("lines", "jsonb", (c) => c.notNull())
    .addColumn("amount_cents", "integer", (c) => c.notNull().check(sql`amount_cents > 0`))
    .addColumn("restock", "boolean", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("requested_at", "timestamptz", (c) => c.notNull())
    .addColumn("refunded_at", "timestamptz")
    .addPrimaryKeyConstraint("order_refunds_pkey", ["order_id", "id"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("order_refunds").execute();
  await sql`alter table orders drop constraint orders_status_check`.execute(db);
  await sql`alter table orders add constraint orders_status_check
    check (status in ('PENDING', 'STOCK_RESERVED', 'PAID', 'CANCELLED', 'ON_HOLD'))`.execute(db);
}
