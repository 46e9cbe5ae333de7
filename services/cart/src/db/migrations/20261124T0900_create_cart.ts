import { type Kysely, sql } from "kysely";

/** Carts and their lines. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("carts")
    .addColumn("user_id", "text", (c) => c.primaryKey())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("cart_items")
    .addColumn("user_id", "text", (c) => c.notNull().references("carts.user_id").onDelete("cascade"))
    .addColumn("product_id", "text", (c) => c.notNull())
    .addColumn("quantity", "integer", (c) => c.notNull().check(sql`quantity between 1 and 99`))
    .addColumn("seq", "bigserial", (c) => c.notNull())
    .addPrimaryKeyConstraint("cart_items_pkey", ["user_id", "product_id"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("cart_items").execute();
  await db.schema.dropTable("carts").execute();
}
