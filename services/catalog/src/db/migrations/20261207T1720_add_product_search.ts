import { type Kysely, sql } from "kysely";

/**
 * Text search over products: a generated tsvector of the name (weight A, so that name matches
 * rank first) and the description (weight B) with a GIN index, and an index for listing by price.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table products add column search_vector tsvector generated always as (
      setweight(to_tsvector('english', name), 'A') || setweight(to_tsvector('english', description), 'B')
    ) stored
  `.execute(db);
  await db.schema.createIndex("products_search_idx").on("products").using("gin").column("search_vector").execute();
  await db.schema.createIndex("products_price_id_idx").on("products").columns(["price_cents", "id"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("products_price_id_idx").ifExists().execute();
  await db.schema.dropIndex("products_search_idx").ifExists().execute();
  await db.schema.alterTable("products").dropColumn("search_vector").execute();
}
