import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { Client } from "pg";
import { afterAll, beforeAll, describe } from "vitest";
import { type Database, openDatabase } from "../db/database.js";
import { createLogger } from "../logger.js";

/** A schema of its own in a database of one backend, for one test file or suite. */
export interface TestDatabase {
  readonly db: Database;
  /** A fresh schema (`t_<random>`), already created; dropped by {@link TestDatabase.cleanup}. */
  readonly schema: string;
  /** `db.kysely(schema)`. */
  kysely<DB = any>(): Kysely<DB>;
  /** Creates one more fresh schema in the same database, also dropped on cleanup. */
  createSchema(): Promise<string>;
  /** Drops the schemas and lets go of the database. */
  cleanup(): Promise<void>;
}

export interface DatabaseBackend {
  readonly name: "pglite" | "postgres";
  /** Set when the backend is not available here and its suites are skipped: says why. */
  readonly skipReason: string | undefined;
  /** Set when the backend is required (REQUIRE_INFRA=1) but not available: its suites fail. */
  readonly failReason: string | undefined;
  open(): Promise<TestDatabase>;
}

const LOCAL_HOST = "127.0.0.1";
const LOCAL_PORT = 5432;
const LOCAL_ADMIN_URL = `postgres://postgres@${LOCAL_HOST}:${LOCAL_PORT}/postgres`;
const LOCAL_TEST_DATABASE = "shopmesh_test";

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
let backends: DatabaseBackend[] | undefined;

/**
 * The backends a store suite runs against: PGlite (in memory) always; Postgres at
 * `DATABASE_URL`, or else at 127.0.0.1:5432 (user postgres, trust auth, database
 * `shopmesh_test`, created when missing) when something answers there. Without Postgres
 * the backend is skipped, unless REQUIRE_INFRA=1 makes it fail.
 */
export function databaseBackends(): DatabaseBackend[] {
  backends ??= [pgliteBackend(), postgresBackend()];
  return backends;
}

/**
 * Declares `fn`'s tests once per backend, each in a `describe` named after it. A skipped
 * backend shows its reason in the suite name; a required but missing one fails.
 *
 * ```ts
 * forEachBackend((backend) => {
 *   const t = useTestDatabase(backend);
 *   test("…", async () => { await t.kysely().selectFrom("products")… });
 * });
 * ```
 */
export function forEachBackend(fn: (backend: DatabaseBackend) => void): void {
  for (const backend of databaseBackends()) describeBackend(backend, backend.name, () => fn(backend));
}

/**
 * A suite that needs a real Postgres server (for what PGlite cannot show, e.g. the server going
 * away): skipped or failing as the postgres backend of {@link forEachBackend} is. Inside it,
 * {@link postgresTestUrl} says where that server is.
 */
export function describeWithPostgres(title: string, fn: () => void): void {
  describeBackend(postgresBackend(), title, fn);
}

function describeBackend(backend: DatabaseBackend, title: string, fn: () => void): void {
  const { skipReason, failReason } = backend;
  describe.skipIf(skipReason !== undefined)(skipReason ? `${title} (skipped: ${skipReason})` : title, () => {
    if (failReason) {
      beforeAll(() => {
        throw new Error(failReason);
      });
    }
    fn();
  });
}

/** The URL of the Postgres database the postgres backend uses (DATABASE_URL, or the local `shopmesh_test`). */
export function postgresTestUrl(): Promise<string> {
  return process.env.DATABASE_URL ? Promise.resolve(process.env.DATABASE_URL) : localTestDatabase();
}

/**
 * Opens a {@link TestDatabase} in `beforeAll` of the enclosing suite and cleans it up in
 * `afterAll`; the returned object reads through to it (use it inside tests and hooks).
 */
export function useTestDatabase(backend: DatabaseBackend): TestDatabase {
  let opened: TestDatabase | undefined;
  beforeAll(async () => {
    opened = await backend.open();
  });
  afterAll(async () => {
    const t = opened;
    opened = undefined;
    await t?.cleanup();
  });
  const current = (): TestDatabase => {
    if (!opened) throw new Error(`the ${backend.name} test database is not open: use it inside tests or hooks`);
    return opened;
  };
  return {
    get db() {
      return current().db;
    },
    get schema() {
      return current().schema;
    },
    kysely: <DB>() => current().kysely<DB>(),
    createSchema: () => current().createSchema(),
    // afterAll cleans up; nothing for the suite to do.
    cleanup: async () => {},
  };
}

function uniqueSchemaName(): string {
  return `t_${randomBytes(6).toString("hex")}`;
}

/** Opens the schemas on `db`; `release` lets go of `db` after they are dropped. */
async function openSchemas(db: Database, release: () => Promise<void>): Promise<TestDatabase> {
  const schemas: string[] = [];
  const createSchema = async () => {
    const schema = uniqueSchemaName();
    await db.kysely(schema).schema.createSchema(schema).execute();
    schemas.push(schema);
    return schema;
  };
  let schema: string;
  try {
    schema = await createSchema();
  } catch (err) {
    await release();
    throw err;
  }
  let cleaned = false;
  return {
    db,
    schema,
    kysely: <DB>() => db.kysely<DB>(schema),
    createSchema,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      try {
        for (const s of schemas) await db.kysely(s).schema.dropSchema(s).ifExists().cascade().execute();
      } finally {
        await release();
      }
    },
  };
}

// --- PGlite -------------------------------------------------------------------------

/** One in-memory instance per test process, shared by every open() until the last cleanup. */
let pglite: { db: Promise<Database>; refs: number } | undefined;

function pgliteBackend(): DatabaseBackend {
  return {
    name: "pglite",
    skipReason: undefined,
    failReason: undefined,
    async open() {
      pglite ??= { db: startPGlite(), refs: 0 };
      const shared = pglite;
      shared.refs++;
      const release = async () => {
        if (--shared.refs > 0) return;
        if (pglite === shared) pglite = undefined;
        await (await shared.db).close();
      };
      let db: Database;
      try {
        db = await shared.db;
      } catch (err) {
        if (pglite === shared) pglite = undefined;
        throw err;
      }
      return openSchemas(db, release);
    },
  };
}

/**
 * Starts from a cached tarball of a fresh cluster (~0.8 s, ~450 MB) rather than running
 * initdb each time (~2.5 s, ~760 MB). The tarball is made once per PGlite build, in the
 * temp directory.
 */
async function startPGlite(): Promise<Database> {
  const template = await templatePath();
  try {
    const data = await readFile(template);
    return await openDatabase({ kind: "pglite", loadDataDir: new Blob([data]) }, logger);
  } catch {
    // No template yet, or an unusable one: make it (again).
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const fresh = new PGlite();
  try {
    await fresh.waitReady;
    const dump = await fresh.dumpDataDir("none");
    const partial = `${template}.${process.pid}.${randomBytes(4).toString("hex")}`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, template);
  } finally {
    await fresh.close();
  }
  return openDatabase({ kind: "pglite", loadDataDir: new Blob([await readFile(template)]) }, logger);
}

async function templatePath(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const { size, mtimeMs } = await stat(entry);
  return join(tmpdir(), `shopmesh-pglite-template-${size}-${Math.round(mtimeMs)}.tar`);
}

// --- Postgres -----------------------------------------------------------------------

let postgres: DatabaseBackend | undefined;

function postgresBackend(): DatabaseBackend {
  postgres ??= probePostgres();
  return postgres;
}

function probePostgres(): DatabaseBackend {
  const configured = process.env.DATABASE_URL;
  const required = process.env.REQUIRE_INFRA === "1";
  let skipReason: string | undefined;
  let failReason: string | undefined;
  if (!configured && !answers(LOCAL_HOST, LOCAL_PORT)) {
    const why = `no Postgres answers on ${LOCAL_HOST}:${LOCAL_PORT} and DATABASE_URL is not set`;
    if (required) failReason = `REQUIRE_INFRA=1 but ${why}`;
    else {
      skipReason = `${why}; REQUIRE_INFRA=1 turns this into a failure`;
      console.warn(`[testing] postgres backend skipped: ${skipReason}`);
    }
  }
  return {
    name: "postgres",
    skipReason,
    failReason,
    async open() {
      if (failReason) throw new Error(failReason);
      if (skipReason) throw new Error(`the postgres backend is skipped: ${skipReason}`);
      const db = await openDatabase({ kind: "postgres", url: await postgresTestUrl(), poolSize: 4 }, logger);
      return openSchemas(db, () => db.close());
    },
  };
}

/** Whether something accepts TCP connections there (synchronously: suites are declared synchronously). */
function answers(host: string, port: number): boolean {
  const probe = `require("node:net").connect(${port}, ${JSON.stringify(host)})
    .setTimeout(1000, function () { process.exit(1); })
    .on("connect", () => process.exit(0)).on("error", () => process.exit(1));`;
  try {
    execFileSync(process.execPath, ["-e", probe], { stdio: "ignore", timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

let localDatabase: Promise<string> | undefined;

/** The URL of `shopmesh_test` on the local server, creating the database when missing. */
function localTestDatabase(): Promise<string> {
  localDatabase ??= (async () => {
    const admin = new Client({ connectionString: LOCAL_ADMIN_URL });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("select 1 from pg_database where datname = $1", [LOCAL_TEST_DATABASE]);
      if (!rowCount) {
        await admin.query(`create database ${LOCAL_TEST_DATABASE}`).catch((err: { code?: string }) => {
          // Another test process created it first.
          if (err.code !== "42P04" && err.code !== "23505") throw err;
        });
      }
    } finally {
      await admin.end();
    }
    return `postgres://postgres@${LOCAL_HOST}:${LOCAL_PORT}/${LOCAL_TEST_DATABASE}`;
  })();
  localDatabase.catch(() => {
    localDatabase = undefined;
  });
  return localDatabase;
}
