import { createLogger, inboxMigrations, type Migration, migrateToLatest, outboxMigrations } from "@shopmesh/platform";
import { databaseBackend, useTestDatabase } from "@shopmesh/platform/testing";
import { type Kysely, Migrator, sql } from "kysely";
import { describe, expect, it } from "vitest";
import { catalogMigrations } from "./migrations/index.js";

const logger = createLogger({ level: "silent" });

const recorded = async (db: Kysely<any>): Promise<string[]> => {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.map((r) => r.name);
};

describe("catalog migrations", () => {
  const t = useTestDatabase(databaseBackend);

  it("sort after the platform's migrations that create the outbox and inbox, in the one name format", () => {
    const names = Object.keys(catalogMigrations).sort();
    const creates = [Object.keys(outboxMigrations)[0], Object.keys(inboxMigrations)[0]];
    expect(names.slice(0, 2)).toEqual(creates);
    const platform = new Set([...Object.keys(outboxMigrations), ...Object.keys(inboxMigrations)]);
    for (const own of names.filter((n) => !platform.has(n))) expect(own > (creates[1] as string)).toBe(true);
    for (const name of names) expect(name).toMatch(/^\d{8}T\d{4}_[a-z0-9_]+$/);
  });

  it("a schema migrated when the catalog's migration was 20251124-0900-create-catalog migrates cleanly and keeps its data", async () => {
    const schema = await t.createSchema();
    const db = t.db.kysely(schema);
    const { renamedFrom, ...createCatalog } = catalogMigrations["20261124T0900_create_catalog"] as Migration;
    expect(renamedFrom).toEqual(["20251124-0900-create-catalog"]);
    // Migrated as before the rename: kysely's Migrator over the old names, as migrateToLatest ran it.
    const before: Record<string, Migration> = { "20251124-0900-create-catalog": createCatalog, ...outboxMigrations, ...inboxMigrations };
    const old = new Migrator({ db, migrationTableSchema: schema, provider: { getMigrations: async () => before } });
    expect((await old.migrateToLatest()).error).toBeUndefined();
    expect(await recorded(db)).toEqual(Object.keys(before).sort());
    await db.insertInto("products").values({ id: "p-kept", name: "Kept", price_cents: 100, currency: "EUR" }).execute();

    await migrateToLatest(db, schema, { ...catalogMigrations }, logger);
    expect(await recorded(db)).toEqual(Object.keys(catalogMigrations).sort());
    expect(await db.selectFrom("products").select("id").execute()).toEqual([{ id: "p-kept" }]);

    await migrateToLatest(db, schema, { ...catalogMigrations }, logger);
    expect(await recorded(db)).toEqual(Object.keys(catalogMigrations).sort());
  });
});
