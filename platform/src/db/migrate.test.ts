import { type Kysely, sql } from "kysely";
import { expect, test } from "vitest";
import { createLogger } from "../logger.js";
import { forEachBackend, useTestDatabase } from "../testing/index.js";
import { type Migration, migrateToLatest } from "./migrate.js";

const logger = createLogger({ level: "silent" });

const migrations: Record<string, Migration> = {
  "20250101T0000_create_products": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("products")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable("products").execute();
    },
  },
  "20250102T0000_add_stock": {
    async up(db: Kysely<any>) {
      // Several statements in one raw string work on both backends.
      await sql`alter table products add column stock integer not null default 0;
                create index products_stock_idx on products (stock);`.execute(db);
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable("products").dropColumn("stock").execute();
    },
  },
};

forEachBackend((backend) => {
  const t = useTestDatabase(backend);

  test("applies the migrations into a schema it creates, then does nothing the second time", async () => {
    const schema = `${t.schema}_m`;
    const db = t.db.kysely(schema);
    try {
      await migrateToLatest(db, schema, migrations, logger);
      await db.insertInto("products").values({ id: "p1", name: "Mug", stock: 3 }).execute();

      await migrateToLatest(db, schema, migrations, logger);
      expect(await db.selectFrom("products").selectAll().execute()).toEqual([{ id: "p1", name: "Mug", stock: 3 }]);

      const { rows } = await sql<{ name: string }>`select name from ${sql.id(schema, "kysely_migration")} order by name`.execute(db);
      expect(rows.map((r) => r.name)).toEqual(Object.keys(migrations));
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = ${schema} order by table_name`.execute(db);
      expect(tables.rows.map((r) => r.table_name)).toEqual(["kysely_migration", "kysely_migration_lock", "products"]);
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
    }
  });

  test("a later migration runs on a schema that has the earlier ones", async () => {
    const db = t.kysely();
    const [first, second] = Object.keys(migrations) as [string, string];
    await migrateToLatest(db, t.schema, { [first]: migrations[first] as Migration }, logger);
    await migrateToLatest(db, t.schema, migrations, logger);
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    expect(rows.map((r) => r.name)).toEqual([first, second]);
  });

  test("a failing migration is named in the error and the whole batch is rolled back", async () => {
    const schema = await t.createSchema();
    const db = t.db.kysely(schema);
    const broken: Record<string, Migration> = {
      "20250101T0000_ok": { up: async (k) => void (await sql`create table ok (id int)`.execute(k)) },
      "20250102T0000_broken": { up: async (k) => void (await sql`create table ok (id int)`.execute(k)) },
    };
    await expect(migrateToLatest(db, schema, broken, logger)).rejects.toThrow(
      /migration 20250102T0000_broken of schema t_\w+ failed: .*already exists/,
    );
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    expect(rows).toEqual([]);
    const { rows: tables } =
      await sql`select 1 from information_schema.tables where table_schema = ${schema} and table_name = 'ok'`.execute(db);
    expect(tables).toEqual([]);
  });

  test("refuses a handle bound to another schema", async () => {
    const other = await t.createSchema();
    await expect(migrateToLatest(t.kysely(), other, migrations, logger)).rejects.toThrow(/uses t_\w+; pass database.kysely/);
  });
});
