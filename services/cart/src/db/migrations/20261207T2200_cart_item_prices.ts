import type { Kysely } from "kysely";

/**
 * The prices a cart line carries: the unit price it records (set when added, moved by the
 * catalog's price changes), the price it changed from (the notice, 0 when none), the price the
 * shopper was last shown, and the product version the price is from. Null on lines added before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("cart_items")
    .addColumn("unit_price_cents", "integer")
    .addColumn("currency", "text")
    .addColumn("price_version", "bigint")
    .addColumn("price_changed_from_cents", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("shown_price_cents", "integer")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("cart_items")
    .dropColumn("unit_price_cents")
    .dropColumn("currency")
    .dropColumn("price_version")
    .dropColumn("price_changed_from_cents")
    .dropColumn("shown_price_cents")
    .execute();
}
