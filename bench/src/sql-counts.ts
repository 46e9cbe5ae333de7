// SQL statements and transactions of the mesh's service databases, as its PostgreSQL server
// counts them: `calls` summed over pg_stat_statements (BEGIN and COMMIT are statements there too)
// and `xact_commit` of pg_stat_database, for the databases named `shopmesh_*`.
import pg from "pg";
import type { SqlCounts } from "./checkout.js";
import { HarnessError } from "./system.js";

/**
 * A backend reports its transaction counts to pg_stat_database at most once a second, once idle:
 * a reading waits this long so that the transactions just committed are in it.
 */
const STATS_FLUSH_MS = 1_100;

export interface SqlCounter {
  counts(): Promise<SqlCounts>;
  close(): Promise<void>;
}

/**
 * Counts on the server at `url` (a superuser's URL): creates the pg_stat_statements extension in
 * the database of the URL when missing (the server must load the library, as the embedded one does).
 */
export async function openSqlCounter(url: string): Promise<SqlCounter> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query("create extension if not exists pg_stat_statements");
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new HarnessError(`pg_stat_statements is not available: ${err instanceof Error ? err.message : String(err)}`);
  }
  let deallocBefore: number | undefined;
  return {
    async counts() {
      await new Promise((resolve) => setTimeout(resolve, STATS_FLUSH_MS));
      const { rows } = await client.query<{ statements: string; transactions: string; dealloc: string }>(`
        select
          (select coalesce(sum(s.calls), 0) from pg_stat_statements s join pg_database d on d.oid = s.dbid
            where d.datname like 'shopmesh\\_%') as statements,
          (select coalesce(sum(xact_commit), 0) from pg_stat_database where datname like 'shopmesh\\_%') as transactions,
          (select dealloc from pg_stat_statements_info) as dealloc`);
      const row = rows[0];
      if (!row) throw new HarnessError("pg_stat_statements gave no row");
      const dealloc = Number(row.dealloc);
      // Statements evicted from the view take their counts with them.
      if (deallocBefore !== undefined && dealloc !== deallocBefore) {
        throw new HarnessError("pg_stat_statements evicted statements during the run: raise pg_stat_statements.max");
      }
      deallocBefore = dealloc;
      return { statements: Number(row.statements), transactions: Number(row.transactions) };
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}
