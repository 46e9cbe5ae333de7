import { type Kysely, sql } from "kysely";

/**
 * A product's price history: one row for the price it was created with (version 1, no old price)
 * and one for every change of its price or currency, written in the change's transaction.
 * Products already in the catalog get no row: their history starts with their next change.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("price_changes")
    .addColumn("id", "bigint", (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn("product_id", "text", (c) => c.notNull().references("products.id").onDelete("cascade"))
    .addColumn("old_price_cents", "integer")
    .addColumn("old_currency", "text")
    .addColumn("new_price_cents", "integer", (c) => c.notNull())
    .addColumn("currency", "text", (c) => c.notNull())
    .addColumn("version", "bigint", (c) => c.notNull().check(sql`version >= 1`))
    .addColumn("changed_by", "text", (c) => c.notNull())
    .addColumn("changed_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint("price_changes_old_price_together", sql`(old_price_cents is null) = (old_currency is null)`)
    .execute();
  await db.schema.createIndex("price_changes_product_idx").on("price_changes").columns(["product_id", "id"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("price_changes").ifExists().execute();
}
