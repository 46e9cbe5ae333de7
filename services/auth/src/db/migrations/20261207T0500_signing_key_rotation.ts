import { type Kysely, sql } from "kysely";

/**
 * Key rotation: each key signs from `signs_from` on. A key published ahead of its turn is
 * pending (`not active and retired_at is null`); there is at most one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("signing_keys").addColumn("signs_from", "timestamptz").execute();
  await sql`update signing_keys set signs_from = created_at`.execute(db);
  await db.schema
    .alterTable("signing_keys")
    .alterColumn("signs_from", (c) => c.setNotNull())
    .execute();
  await sql`create unique index signing_keys_one_pending_idx on signing_keys (active) where not active and retired_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index signing_keys_one_pending_idx`.execute(db);
  await db.schema.alterTable("signing_keys").dropColumn("signs_from").execute();
}
