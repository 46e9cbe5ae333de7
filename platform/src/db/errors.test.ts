import { sql } from "kysely";
import { describe, expect, test } from "vitest";
import { Code, ConnectError } from "../errors.js";
import { createLogger } from "../logger.js";
import { forEachBackend, useTestDatabase } from "../testing/index.js";
import { openDatabase } from "./database.js";
import { translateDbError, withDbErrors } from "./errors.js";

interface ShopDb {
  categories: { id: string };
  products: { id: string; sku: string; category_id: string | null; price_cents: number };
}

async function codeOf(p: Promise<unknown>): Promise<Code | "resolved" | "not a ConnectError"> {
  try {
    await p;
    return "resolved";
  } catch (err) {
    return err instanceof ConnectError ? err.code : "not a ConnectError";
  }
}

forEachBackend((backend) => {
  const t = useTestDatabase(backend);

  const setUp = async () => {
    const db = t.kysely<ShopDb>();
    await sql`
      create table if not exists categories (id text primary key);
      create table if not exists products (
        id text primary key,
        sku text not null unique,
        category_id text references categories (id),
        price_cents integer not null check (price_cents >= 0)
      );`.execute(db);
    return db;
  };

  test("unique violation → ALREADY_EXISTS, with the database error kept as cause", async () => {
    const db = await setUp();
    const insert = (id: string) =>
      withDbErrors(() => db.insertInto("products").values({ id, sku: "SKU-1", category_id: null, price_cents: 1 }).execute(), "product");
    await insert("p1");
    const err = await insert("p2").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.AlreadyExists);
    expect((err as ConnectError).rawMessage).toBe("product already exists");
    expect(((err as ConnectError).cause as { code?: string }).code).toBe("23505");
  });

  test("foreign key and check violations → FAILED_PRECONDITION", async () => {
    const db = await setUp();
    const fk = withDbErrors(() => db.insertInto("products").values({ id: "fk", sku: "FK", category_id: "nope", price_cents: 1 }).execute());
    expect(await codeOf(fk)).toBe(Code.FailedPrecondition);
    const check = withDbErrors(() =>
      db.insertInto("products").values({ id: "neg", sku: "NEG", category_id: null, price_cents: -1 }).execute(),
    );
    expect(await codeOf(check)).toBe(Code.FailedPrecondition);
  });

  test("statement timeout → DEADLINE_EXCEEDED", async () => {
    const db = t.kysely();
    const timedOut = withDbErrors(() =>
      db.transaction().execute(async (trx) => {
        await sql`set local statement_timeout = 50`.execute(trx);
        await sql`select pg_sleep(2)`.execute(trx);
      }),
    );
    expect(await codeOf(timedOut)).toBe(Code.DeadlineExceeded);
  });

  test("other errors pass through untouched", async () => {
    const db = t.kysely();
    const syntax = await withDbErrors(() => sql`selec 1`.execute(db)).catch((e: unknown) => e);
    expect(syntax).not.toBeInstanceOf(ConnectError);
    expect((syntax as { code?: string }).code).toBe("42601");
    const plain = new Error("not a database error");
    await expect(withDbErrors(() => Promise.reject(plain))).rejects.toBe(plain);
    await expect(withDbErrors(async () => 42)).resolves.toBe(42);
  });
});

describe("translateDbError", () => {
  const dbError = (code: string, message = "x") => Object.assign(new Error(message), { code });

  test.each([
    ["23505", Code.AlreadyExists],
    ["23503", Code.FailedPrecondition],
    ["23514", Code.FailedPrecondition],
    ["40001", Code.Aborted],
    ["40P01", Code.Aborted],
    ["57P01", Code.Unavailable],
    ["08006", Code.Unavailable],
    ["ECONNREFUSED", Code.Unavailable],
  ])("%s → %s", (code, expected) => {
    expect(translateDbError(dbError(code))?.code).toBe(expected);
  });

  test("query canceled: by statement timeout or by request", () => {
    expect(translateDbError(dbError("57014", "canceling statement due to statement timeout"))?.code).toBe(Code.DeadlineExceeded);
    expect(translateDbError(dbError("57014", "canceling statement due to user request"))?.code).toBe(Code.Canceled);
  });

  test("pg's connection errors without a code → UNAVAILABLE", () => {
    expect(translateDbError(new Error("Connection terminated unexpectedly"))?.code).toBe(Code.Unavailable);
    expect(translateDbError(new Error("timeout exceeded when trying to connect"))?.code).toBe(Code.Unavailable);
  });

  test("leaves alone what it does not know", () => {
    expect(translateDbError(dbError("23502"))).toBeUndefined(); // not null: a bug, stays INTERNAL
    expect(translateDbError(new Error("boom"))).toBeUndefined();
    expect(translateDbError("a string")).toBeUndefined();
    expect(translateDbError(new ConnectError("x", Code.NotFound))).toBeUndefined();
  });

  test("a Postgres nobody listens on → UNAVAILABLE", async () => {
    const db = await openDatabase({ url: "postgres://postgres@127.0.0.1:1/none" }, createLogger({ level: "silent" }));
    try {
      expect(await codeOf(withDbErrors(() => sql`select 1`.execute(db.kysely("app"))))).toBe(Code.Unavailable);
    } finally {
      await db.close();
    }
  });
});
