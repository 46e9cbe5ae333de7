import type { PGlite, Results } from "@electric-sql/pglite";
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from "kysely";
import type { Logger } from "../logger.js";
import { Mutex, type Release } from "./mutex.js";
import { quoteIdent } from "./schema-name.js";

/** After this long waiting for the connection, the wait is logged: it usually means a deadlock. */
const SLOW_ACQUIRE_MS = 5_000;

/**
 * The one PGlite instance of a process, shared by every schema handle. PGlite is a single
 * connection, so a handle holds it (the mutex) from acquire to release — for a whole
 * transaction — and points `search_path` at its schema on acquire.
 *
 * Consequence: while a transaction is open, any query through another handle (or through
 * the same Kysely outside the `trx`) waits for it; awaiting such a query inside the
 * transaction deadlocks. A wait longer than {@link SLOW_ACQUIRE_MS} is logged.
 */
export class PGliteHost {
  readonly #mutex = new Mutex();
  #searchPath: string | undefined;
  #closed = false;

  constructor(
    readonly pg: PGlite,
    private readonly logger: Logger,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  async acquire(schema: string): Promise<PGliteConnection> {
    const release = await this.#lock(schema);
    try {
      if (this.#closed) throw new Error("the PGlite database is closed");
      if (this.#searchPath !== schema) {
        // Forget the old value first: should the SET fail, the next acquire sets it again.
        this.#searchPath = undefined;
        await this.pg.query(`set search_path to ${quoteIdent(schema)}`);
        this.#searchPath = schema;
      }
    } catch (err) {
      release();
      throw err;
    }
    return new PGliteConnection(this.pg, release, this.logger);
  }

  /** Waits for the running transaction or query, then closes PGlite. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const release = await this.#mutex.acquire();
    try {
      if (this.#closed) return;
      this.#closed = true;
      await this.pg.close();
    } finally {
      release();
    }
  }

  async #lock(schema: string): Promise<Release> {
    if (!this.#mutex.locked) return this.#mutex.acquire();
    const started = Date.now();
    const timer = setTimeout(() => {
      this.logger.warn(
        { schema, waitedMs: Date.now() - started },
        "still waiting for the PGlite connection; a query awaited inside an open transaction through another handle deadlocks",
      );
    }, SLOW_ACQUIRE_MS);
    timer.unref();
    try {
      return await this.#mutex.acquire();
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Postgres SQL; its own class only so that {@link isSingleConnection} can recognize PGlite handles. */
class PGliteAdapter extends PostgresAdapter {}

/**
 * True when `db` runs on the process's one PGlite connection: a transaction there holds the
 * whole database until it ends, so no other transaction of any handle runs meanwhile (what
 * Postgres needs advisory or row locks for). Works on `trx` and on plugin-wrapped handles.
 */
export function isSingleConnection(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PGliteAdapter;
}

/** A Kysely dialect whose connections are the shared PGlite instance bound to one schema. */
export class PGliteDialect implements Dialect {
  constructor(
    private readonly host: PGliteHost,
    private readonly schema: string,
  ) {}

  createDriver(): Driver {
    return new PGliteDriver(this.host, this.schema);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new PGliteAdapter();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

class PGliteDriver implements Driver {
  constructor(
    private readonly host: PGliteHost,
    private readonly schema: string,
  ) {}

  async init(): Promise<void> {}

  acquireConnection(): Promise<DatabaseConnection> {
    return this.host.acquire(this.schema);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = "begin";
    if (settings.isolationLevel || settings.accessMode) {
      statement = "start transaction";
      if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) statement += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const { rows } = await connection.executeQuery<{ command?: string }>(CompiledQuery.raw("commit"));
    // Postgres answers COMMIT with ROLLBACK when an earlier statement aborted the transaction.
    if (rows[0]?.command === "ROLLBACK") throw new Error("transaction was rolled back: a statement in it had failed");
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdent(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdent(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdent(name)}`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).release();
  }

  /** The instance is shared by every schema handle: {@link PGliteHost.close} closes it. */
  async destroy(): Promise<void> {}
}

class PGliteConnection implements DatabaseConnection {
  #release: Release | undefined;
  #inTransaction = false;

  constructor(
    private readonly pg: PGlite,
    release: Release,
    private readonly logger: Logger,
  ) {
    this.#release = release;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.#release) throw new Error("this PGlite connection was already released");
    // Without parameters use the simple protocol, like pg does: it accepts several
    // statements in one string (handy in migrations); the last result is returned.
    const results: Array<Results<R>> =
      query.parameters.length === 0
        ? ((await this.pg.exec(query.sql)) as Array<Results<R>>)
        : [await this.pg.query<R>(query.sql, query.parameters as unknown[])];
    for (const r of results) this.#track(r.command, query.sql);
    const last = results.at(-1);
    const command = last?.command;
    if (command === "COMMIT" || command === "ROLLBACK") return { rows: [{ command } as R] };
    const counted = command === "INSERT" || command === "UPDATE" || command === "DELETE" || command === "MERGE";
    return {
      numAffectedRows: counted ? BigInt(last?.rowCount ?? last?.affectedRows ?? 0) : undefined,
      rows: last?.rows ?? [],
    };
  }

  /** PGlite has no cursors here: runs the query once and hands out the rows in chunks. */
  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    const { rows } = await this.executeQuery<R>(query);
    const size = chunkSize && chunkSize > 0 ? chunkSize : Math.max(rows.length, 1);
    for (let i = 0; i < rows.length; i += size) yield { rows: rows.slice(i, i + size) };
  }

  /**
   * Gives the instance back. A transaction left open (raw `begin` on a borrowed
   * connection, never finished) is rolled back first so it cannot leak into the next
   * holder's queries.
   */
  async release(): Promise<void> {
    const release = this.#release;
    if (!release) return;
    try {
      if (this.#inTransaction) {
        this.logger.warn("a PGlite connection was released inside a transaction; rolling it back");
        await this.pg.exec("rollback");
      }
    } finally {
      this.#release = undefined;
      release();
    }
  }

  #track(command: string | undefined, sql: string): void {
    if (command === "BEGIN" || command === "START") this.#inTransaction = true;
    else if (command === "COMMIT") this.#inTransaction = false;
    // `rollback to savepoint` has the ROLLBACK tag too but keeps the transaction open.
    else if (command === "ROLLBACK" && !/^\s*rollback\s+to\b/i.test(sql)) this.#inTransaction = false;
  }
}
