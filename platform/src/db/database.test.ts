import { type Kysely, sql } from "kysely";
import { expect, test } from "vitest";
import { forEachBackend, useTestDatabase } from "../testing/index.js";

interface CounterDb {
  counters: { id: string; n: number };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

forEachBackend((backend) => {
  const t = useTestDatabase(backend);

  test("raw sql and the query builder both use the handle's schema", async () => {
    const db = t.kysely<{ notes: { id: number; body: string } }>();
    await sql`create table notes (id int primary key, body text not null)`.execute(db);
    await db.insertInto("notes").values({ id: 1, body: "hello" }).execute();

    const { rows } = await sql<{ schema: string; body: string }>`select current_schema() as schema, body from notes`.execute(db);
    expect(rows).toEqual([{ schema: t.schema, body: "hello" }]);

    const where = await sql<{ table_schema: string }>`
      select table_schema from information_schema.tables where table_name = 'notes'`.execute(db);
    expect(where.rows.map((r) => r.table_schema)).toContain(t.schema);
    expect(where.rows.map((r) => r.table_schema)).not.toContain("public");
  });

  test("two schemas of one database keep tables of the same name apart", async () => {
    const other = await t.createSchema();
    type ItemsDb = { items: { id: number; owner: string } };
    const a = t.db.kysely<ItemsDb>(t.schema);
    const b = t.db.kysely<ItemsDb>(other);
    for (const db of [a, b])
      await db.schema
        .createTable("items")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("owner", "text")
        .execute();

    await a.insertInto("items").values({ id: 1, owner: "a" }).execute();
    await b
      .insertInto("items")
      .values([
        { id: 1, owner: "b" },
        { id: 2, owner: "b" },
      ])
      .execute();

    expect(await a.selectFrom("items").select(["id", "owner"]).orderBy("id").execute()).toEqual([{ id: 1, owner: "a" }]);
    expect(await b.selectFrom("items").select("owner").execute()).toEqual([{ owner: "b" }, { owner: "b" }]);
    // Alternate again.
    expect((await sql<{ n: number }>`select count(*) as n from items`.execute(a)).rows[0]?.n).toBe(1);
    expect((await sql<{ n: number }>`select count(*) as n from items`.execute(b)).rows[0]?.n).toBe(2);
  });

  test("concurrent read-modify-write transactions from two schema handles lose no update", async () => {
    const other = await t.createSchema();
    const a = t.kysely<CounterDb>();
    await a.schema
      .createTable("counters")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("n", "integer", (c) => c.notNull())
      .execute();
    await a.insertInto("counters").values({ id: "c", n: 0 }).execute();
    // The second handle reaches the same table by its qualified name.
    const b = t.db.kysely<CounterDb>(other).withSchema(t.schema);

    const increment = (db: Kysely<CounterDb>) =>
      db.transaction().execute(async (trx) => {
        const { n } = await trx.selectFrom("counters").select("n").where("id", "=", "c").forUpdate().executeTakeFirstOrThrow();
        await tick();
        await trx
          .updateTable("counters")
          .set({ n: n + 1 })
          .where("id", "=", "c")
          .execute();
      });
    await Promise.all(Array.from({ length: 50 }, () => [increment(a), increment(b)]).flat());

    const { n } = await a.selectFrom("counters").select("n").where("id", "=", "c").executeTakeFirstOrThrow();
    expect(n).toBe(100);
  });

  test("a transaction that throws is rolled back", async () => {
    const db = t.kysely<CounterDb>();
    await sql`create table if not exists counters (id text primary key, n integer not null)`.execute(db);
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto("counters").values({ id: "rolled-back", n: 1 }).execute();
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await db.selectFrom("counters").where("id", "=", "rolled-back").selectAll().execute()).toEqual([]);
  });

  test("savepoints in a controlled transaction", async () => {
    const db = t.kysely<CounterDb>();
    await sql`create table if not exists counters (id text primary key, n integer not null)`.execute(db);
    const trx = await db.startTransaction().execute();
    await trx.insertInto("counters").values({ id: "kept", n: 1 }).execute();
    const sp = await trx.savepoint("sp1").execute();
    await sp.insertInto("counters").values({ id: "dropped", n: 1 }).execute();
    await sp.rollbackToSavepoint("sp1").execute();
    await trx.commit().execute();
    const ids = await db.selectFrom("counters").select("id").where("id", "in", ["kept", "dropped"]).execute();
    expect(ids).toEqual([{ id: "kept" }]);
  });

  test("values come back the same on both backends", async () => {
    const db = t.kysely();
    await sql`create table vals (id int8 primary key, amount numeric(12,2), tags text[], doc jsonb, at timestamptz, flag boolean, data bytea)`.execute(
      db,
    );
    const at = new Date("2025-01-02T03:04:05.678Z");
    await sql`insert into vals values (${1}, ${"12.50"}, ${["a", "b"]}, ${JSON.stringify({ k: [1, 2] })}, ${at}, ${true}, ${Buffer.from([1, 2, 255])})`.execute(
      db,
    );
    const { rows } = await sql<Record<string, unknown>>`
      select id, amount, tags, doc, at, flag, data, count(*) over () as total, 9007199254740993::int8 as huge from vals`.execute(db);
    const row = rows[0] ?? {};
    expect(row.id).toBe(1);
    expect(row.total).toBe(1);
    expect(row.huge).toBe(9007199254740993n);
    expect(row.amount).toBe("12.50");
    expect(row.tags).toEqual(["a", "b"]);
    expect(row.doc).toEqual({ k: [1, 2] });
    expect(row.at).toEqual(at);
    expect(row.flag).toBe(true);
    expect(Buffer.from(row.data as Uint8Array)).toEqual(Buffer.from([1, 2, 255]));
  });

  test("insert, update and delete report affected rows", async () => {
    const db = t.kysely<{ things: { id: number } }>();
    await sql`create table things (id int primary key)`.execute(db);
    const inserted = await db
      .insertInto("things")
      .values([{ id: 1 }, { id: 2 }, { id: 3 }])
      .executeTakeFirst();
    expect(inserted.numInsertedOrUpdatedRows).toBe(3n);
    const updated = await db.updateTable("things").set({ id: sql`id + 10` }).where("id", ">", 1).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(2n);
    const deleted = await db.deleteFrom("things").executeTakeFirst();
    expect(deleted.numDeletedRows).toBe(3n);
  });
});
