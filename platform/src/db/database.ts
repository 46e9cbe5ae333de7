import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { Kysely, type LogEvent, PostgresDialect } from "kysely";
import { Pool, TypeOverrides } from "pg";
import type { Logger } from "../logger.js";
import { traceQuery } from "./query-spans.js";
import { PGliteDialect, PGliteHost } from "./pglite-dialect.js";
import { assertSchemaName } from "./schema-name.js";

export type DatabaseConfig =
  | {
      kind: "postgres";
      /** A libpq URL, e.g. `postgres://user:pass@host:5432/shop`. */
      url: string;
      /** Connections per schema handle; default 10. */
      poolSize?: number;
    }
  | {
      kind: "pglite";
      /** Where the cluster lives on disk; undefined keeps it in memory. */
      dataDir?: string;
      /**
       * A tarball from PGlite's `dumpDataDir()` to start from instead of running initdb
       * (in memory ~0.8 s instead of ~2.5 s). Used by the test helpers.
       */
      loadDataDir?: Blob;
    };

/**
 * One database of the process: a Postgres server or the embedded PGlite instance. Every
 * service gets its own schema in it and talks to it through {@link Database.kysely}.
 */
export interface Database {
  readonly kind: DatabaseConfig["kind"];
  /**
   * The Kysely instance for `schema` (created on first use, then cached): its connections
   * have `search_path` set to that schema, so both query-builder and raw `sql` queries use
   * unqualified names. The Database owns it: call {@link Database.close}, not `destroy()`.
   */
  kysely<DB = any>(schema: string): Kysely<DB>;
  /** Closes every pool (Postgres) or the instance (PGlite), after running queries finish. */
  close(): Promise<void>;
}

const DEFAULT_POOL_SIZE = 10;
const CONNECT_TIMEOUT_MS = 10_000;
const SLOW_QUERY_MS = 500;
const INT8_OID = 20;

export async function openDatabase(cfg: DatabaseConfig, logger: Logger): Promise<Database> {
  switch (cfg.kind) {
    case "postgres":
      return openPostgres(cfg.url, cfg.poolSize ?? DEFAULT_POOL_SIZE, logger);
    case "pglite":
      return openPGlite(cfg.dataDir, cfg.loadDataDir, logger);
    default: {
      const never: never = cfg;
      throw new Error(`unknown database kind ${JSON.stringify((never as { kind: unknown }).kind)}`);
    }
  }
}

/**
 * int8 (COUNT(*), bigint columns) as a number while it is a safe integer, a bigint beyond:
 * what PGlite does by default, so both backends return the same values. numeric stays a
 * string on both (exact decimals).
 */
export function parseInt8(value: string): number | bigint {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : BigInt(value);
}

function openPostgres(url: string, poolSize: number, logger: Logger): Database {
  const types = new TypeOverrides();
  types.setTypeParser(INT8_OID, parseInt8);
  return createDatabase(
    "postgres",
    logger,
    (schema) => {
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
      pool.on("error", (err) => logger.warn({ err, schema }, "idle Postgres connection failed"));
      return new PostgresDialect({ pool });
    },
    async () => {},
  );
}

async function openPGlite(dataDir: string | undefined, loadDataDir: Blob | undefined, logger: Logger): Promise<Database> {
  const { PGlite } = await import("@electric-sql/pglite");
  const dir = dataDir === undefined ? undefined : resolve(dataDir);
  if (dir) await mkdir(dir, { recursive: true });
  const started = performance.now();
  const pg = new PGlite({ ...(dir ? { dataDir: dir } : {}), ...(loadDataDir ? { loadDataDir } : {}) });
  try {
    await pg.waitReady;
  } catch (err) {
    throw new Error(`PGlite failed to start (${dir ? `data dir ${dir}` : "in memory"})`, { cause: err });
  }
  logger.info({ data_dir: dir ?? "memory", start_ms: Math.round(performance.now() - started) }, "PGlite ready");
  const host = new PGliteHost(pg, logger);
  return createDatabase(
    "pglite",
    logger,
    (schema) => new PGliteDialect(host, schema),
    () => host.close(),
  );
}

function createDatabase(
  kind: Database["kind"],
  logger: Logger,
  dialectFor: (schema: string) => PostgresDialect | PGliteDialect,
  closeEngine: () => Promise<void>,
): Database {
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
    kind,
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
        await closeEngine();
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
      })();
      return closing;
    },
  };
}
