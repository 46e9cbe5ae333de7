import { type Kysely, sql } from "kysely";

/**
 * Product management: a version of the product's fields for optimistic concurrency, the time it
 * was archived (taken off sale), and its picture URLs in display order (the first is `image_url`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("products")
    .addColumn("version", "bigint", (c) => c.notNull().defaultTo(1).check(sql`version >= 1`))
    .addColumn("archived_at", "timestamptz")
    .addColumn("image_urls", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .execute();
  await sql`update products set image_urls = array[image_url] where image_url <> ''`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("products").dropColumn("image_urls").dropColumn("archived_at").dropColumn("version").execute();
}
