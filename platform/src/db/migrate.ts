import { type Kysely, sql } from "kysely";
import { type Migration, Migrator } from "kysely";
import type { Logger } from "../logger.js";
import { assertSchemaName } from "./schema-name.js";

export type { Migration };

/**
 * Brings `schema` to the latest of `migrations`: creates the schema when missing, then
 * runs kysely's Migrator with its bookkeeping tables inside that schema. Names sort in
 * run order, so use timestamps (`20250101T1200_create_products`). The pending ones run in
 * one transaction: when one fails, the error names it and none of the batch stays applied.
 *
 * `db` must be the handle of that schema (`database.kysely(schema)`): migrations use
 * unqualified names and land wherever its `search_path` points.
 */
export async function migrateToLatest(
  db: Kysely<any>,
  schema: string,
  migrations: Record<string, Migration>,
  logger: Logger,
): Promise<void> {
  assertSchemaName(schema);
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  if (rows[0]?.schema !== schema) {
    throw new Error(
      `cannot migrate schema ${schema}: the Kysely handle uses ${rows[0]?.schema ?? "no schema"}; pass database.kysely("${schema}")`,
    );
  }

  const migrator = new Migrator({
    db,
    migrationTableSchema: schema,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const applied = results.filter((r) => r.status === "Success").map((r) => r.migrationName);
  if (applied.length > 0) logger.info({ schema, applied }, "migrations applied");

  if (error !== undefined) {
    const failed = results.find((r) => r.status === "Error")?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(failed ? `migration ${failed} of schema ${schema} failed: ${reason}` : `migrating schema ${schema} failed: ${reason}`, {
      cause: error,
    });
  }
  logger.debug({ schema, total: Object.keys(migrations).length }, "schema up to date");
}
