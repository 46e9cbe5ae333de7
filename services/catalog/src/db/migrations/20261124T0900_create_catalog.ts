import { type Kysely, sql } from "kysely";

/** Products, their categories and stock; reservations with their items; the adjustment log. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("products")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("price_cents", "integer", (c) => c.notNull().check(sql`price_cents >= 0`))
    .addColumn("currency", "text", (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    .addColumn("image_url", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Keyset pagination walks (name, id).
  await db.schema.createIndex("products_name_id_idx").on("products").columns(["name", "id"]).execute();

  await db.schema
    .createTable("product_categories")
    .addColumn("product_id", "text", (c) => c.notNull().references("products.id").onDelete("cascade"))
    .addColumn("category", "text", (c) => c.notNull())
    .addColumn("position", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("product_categories_pkey", ["product_id", "category"])
    .execute();
  await db.schema.createIndex("product_categories_category_idx").on("product_categories").columns(["category", "product_id"]).execute();

  await db.schema
    .createTable("stock")
    .addColumn("product_id", "text", (c) => c.primaryKey().references("products.id").onDelete("cascade"))
    .addColumn("on_hand", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("reserved", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint("stock_reserved_non_negative", sql`reserved >= 0`)
    .addCheckConstraint("stock_never_oversold", sql`reserved <= on_hand`)
    .execute();

  await db.schema
    .createTable("reservations")
    .addColumn("order_id", "text", (c) => c.primaryKey())
    .addColumn("status", "text", (c) => c.notNull().check(sql`status in ('reserved', 'rejected', 'released')`))
    .addColumn("reason", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("released_at", "timestamptz")
    .execute();

  // No foreign key to products: a rejected reservation records unknown product ids too.
  await db.schema
    .createTable("reservation_items")
    .addColumn("order_id", "text", (c) => c.notNull().references("reservations.order_id").onDelete("cascade"))
    .addColumn("product_id", "text", (c) => c.notNull())
    .addColumn("quantity", "integer", (c) => c.notNull().check(sql`quantity > 0`))
    .addColumn("available", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("reservation_items_pkey", ["order_id", "product_id"])
    .execute();

  await db.schema
    .createTable("stock_adjustments")
    .addColumn("id", "bigint", (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn("product_id", "text", (c) => c.notNull().references("products.id").onDelete("cascade"))
    .addColumn("delta", "integer", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("on_hand_after", "integer", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("stock_adjustments_product_idx").on("stock_adjustments").columns(["product_id", "id"]).execute();

  await db.schema
    .createTable("seeds")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("applied_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["seeds", "stock_adjustments", "reservation_items", "reservations", "stock", "product_categories", "products"]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
