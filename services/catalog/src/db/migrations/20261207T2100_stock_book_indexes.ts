import { type Kysely, sql } from "kysely";

/**
 * Indexes behind the stock books reconciliation reads (ListStockBooks, ListReservations) at a
 * shop's size: each book sums the reserved items of its product, and both listings page in
 * code-unit order ("C"), which the primary keys (default collation) cannot serve, so that every
 * page sorted the whole table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("reservation_items_product_idx").on("reservation_items").columns(["product_id", "order_id"]).execute();
  await sql`create index reservations_order_id_c_idx on reservations (order_id collate "C")`.execute(db);
  await sql`create index stock_product_id_c_idx on stock (product_id collate "C")`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("stock_product_id_c_idx").ifExists().execute();
  await db.schema.dropIndex("reservations_order_id_c_idx").ifExists().execute();
  await db.schema.dropIndex("reservation_items_product_idx").ifExists().execute();
}
