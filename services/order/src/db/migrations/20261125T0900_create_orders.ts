import { type Kysely, sql } from "kysely";

/** Orders, their lines and their status history. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("orders")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("idempotency_key", "text")
    .addColumn("payment_method", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull().check(sql`status in ('PENDING', 'STOCK_RESERVED', 'PAID', 'CANCELLED')`))
    .addColumn("cancel_reason", "text")
    .addColumn("payment_id", "text")
    .addColumn("total_cents", "integer", (c) => c.notNull().check(sql`total_cents >= 0`))
    .addColumn("currency", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .addUniqueConstraint("orders_user_idempotency_key", ["user_id", "idempotency_key"])
    .execute();
  await db.schema.createIndex("orders_user_created_idx").on("orders").columns(["user_id", "created_at", "id"]).execute();
  await db.schema.createIndex("orders_created_idx").on("orders").columns(["created_at", "id"]).execute();
  await db.schema.createIndex("orders_status_updated_idx").on("orders").columns(["status", "updated_at"]).execute();

  await db.schema
    .createTable("order_items")
    .addColumn("order_id", "uuid", (c) => c.notNull().references("orders.id").onDelete("cascade"))
    .addColumn("line_no", "integer", (c) => c.notNull())
    .addColumn("product_id", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("unit_price_cents", "integer", (c) => c.notNull())
    .addColumn("quantity", "integer", (c) => c.notNull().check(sql`quantity between 1 and 99`))
    .addColumn("line_total_cents", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("order_items_pkey", ["order_id", "line_no"])
    .execute();

  await db.schema
    .createTable("order_transitions")
    .addColumn("order_id", "uuid", (c) => c.notNull().references("orders.id").onDelete("cascade"))
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("from_status", "text", (c) => c.notNull())
    .addColumn("to_status", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("at", "timestamptz", (c) => c.notNull())
    .addPrimaryKeyConstraint("order_transitions_pkey", ["order_id", "seq"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["order_transitions", "order_items", "orders"]) {
    await db.schema.dropTable(table).execute();
  }
}
