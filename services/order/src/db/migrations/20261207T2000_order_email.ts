import { type Kysely, sql } from "kysely";

/**
 * Orders remember the shopper's email address from the token they were placed with ('' for the
 * orders placed before, and for tokens without one); operators find orders by it, ignoring case.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("orders")
    .addColumn("email", "text", (c) => c.notNull().defaultTo(""))
    .execute();
  await sql`create index orders_email_idx on orders (lower(email), created_at, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index orders_email_idx`.execute(db);
  await db.schema.alterTable("orders").dropColumn("email").execute();
}
