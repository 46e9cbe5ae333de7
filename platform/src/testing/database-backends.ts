import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { type Database, openDatabase } from "../db/database.js";
import { createLogger } from "../logger.js";

/** A schema of its own in the tests' Postgres database, for one test file or suite. */
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

/**
 * The Postgres server of the tests: the one at `DATABASE_URL`, which the global test setup
 * (`postgres-setup.ts`) points at an embedded server of its own when it is unset.
 */
export interface DatabaseBackend {
  readonly name: "postgres";
  open(): Promise<TestDatabase>;
}

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

export const databaseBackend: DatabaseBackend = {
  name: "postgres",
  async open() {
    const db = await openDatabase({ url: postgresTestUrl(), poolSize: 4 }, logger);
    return openSchemas(db, () => db.close());
  },
};

/** The URL of the tests' Postgres database. */
export function postgresTestUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: run the tests with vitest.config.ts, whose global setup starts a Postgres server");
  return url;
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
