import { Kysely, type LogEvent, PostgresDialect } from "kysely";
import { Pool, TypeOverrides } from "pg";
import type { Logger } from "../logger.js";
import { traceQuery } from "./query-spans.js";
import { assertSchemaName } from "./schema-name.js";

export interface DatabaseConfig {
  /** A libpq URL, e.g. `postgres://user:pass@host:5432/shop`. */
  url: string;
  /** Connections per schema handle; default 10. */
  poolSize?: number;
}

/**
 * One Postgres database of the process: a service gets its own schema in it and talks to it
 * through {@link Database.kysely}.
 */
export interface Database {
  /**
   * The Kysely instance for `schema` (created on first use, then cached): its connections
   * have `search_path` set to that schema, so both query-builder and raw `sql` queries use
   * unqualified names. The Database owns it: call {@link Database.close}, not `destroy()`.
   */
  kysely<DB = any>(schema: string): Kysely<DB>;
  /** Closes every pool, after running queries finish. */
  close(): Promise<void>;
}

const DEFAULT_POOL_SIZE = 10;
const CONNECT_TIMEOUT_MS = 10_000;
const SLOW_QUERY_MS = 500;
const INT8_OID = 20;

export async function openDatabase(cfg: DatabaseConfig, logger: Logger): Promise<Database> {
  return openPostgres(cfg.url, cfg.poolSize ?? DEFAULT_POOL_SIZE, logger);
}

/**
 * int8 (COUNT(*), bigint columns) as a number while it is a safe integer, a bigint beyond.
 * numeric stays a string (exact decimals).
 */
export function parseInt8(value: string): number | bigint {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : BigInt(value);
}

function openPostgres(url: string, poolSize: number, logger: Logger): Database {
  const types = new TypeOverrides();
  types.setTypeParser(INT8_OID, parseInt8);
  return createDatabase(logger, (schema) => {
    const pool = new Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // Schema names are validated identifiers: safe in the startup options as they are.
      options: `-c search_path=${schema}`,
      application_name: `shopmesh/${schema}`,
      types,
    });
    // An idle client losing its connection emits on the pool; unhandled it would kill the process.
    // A pool being closed may still hear the server end the sessions it just left.
    pool.on("error", (err) => {
      if (!pool.ending) logger.warn({ err, schema }, "idle Postgres connection failed");
    });
    // A connection lost while checked out (between the statements of a transaction, say) is
    // emitted on its client, with no listener there; its caller sees the failure on its next
    // query. Without this listener the process would die of it.
    pool.on("connect", (client) => {
      client.on("error", () => undefined);
    });
    return new PostgresDialect({ pool });
  });
}

function createDatabase(logger: Logger, dialectFor: (schema: string) => PostgresDialect): Database {
  const handles = new Map<string, Kysely<any>>();
  let closing: Promise<void> | undefined;
  const logFor = (schema: string) => (event: LogEvent) => {
    traceQuery(schema, event);
    if (event.level === "query" && event.queryDurationMillis >= SLOW_QUERY_MS) {
      // The SQL text only: parameters may carry personal data.
      logger.warn({ sql: event.query.sql, ms: Math.round(event.queryDurationMillis) }, "slow query");
    }
  };
  return {
    kysely<DB>(schema: string): Kysely<DB> {
      if (closing) throw new Error("the database is closed");
      assertSchemaName(schema);
      let db = handles.get(schema);
      if (!db) {
        db = new Kysely<any>({ dialect: dialectFor(schema), log: logFor(schema) });
        handles.set(schema, db);
      }
      return db as Kysely<DB>;
    },
    close() {
      closing ??= (async () => {
        const results = await Promise.allSettled([...handles.values()].map((db) => db.destroy()));
        handles.clear();
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
      })();
      return closing;
    },
  };
}
