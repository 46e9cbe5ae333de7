import { type Kysely, sql } from "kysely";

/** Users' roles (e.g. "operator"): their access tokens carry them in the `roles` claim. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("users")
    .addColumn("roles", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("users").dropColumn("roles").execute();
}
