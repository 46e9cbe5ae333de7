import { type Kysely, type Migration as KyselyMigration, Migrator, sql } from "kysely";
import type { Logger } from "../logger.js";
import { assertSchemaName } from "./schema-name.js";

/** A migration: kysely's `up` (and `down`), and the names it had before it was renamed. */
export interface Migration extends KyselyMigration {
  /**
   * Names this migration was recorded under before a rename. A schema that applied it under one
   * of them has it applied: its record takes the new name, and the migration does not run again.
   */
  readonly renamedFrom?: readonly string[];
}

/** The one migration name format: a UTC timestamp and what the migration does. */
const MIGRATION_NAME = /^\d{8}T\d{4}_[a-z0-9_]+$/;

/** Kysely's bookkeeping table, in the migrated schema. */
const MIGRATION_TABLE = "kysely_migration";

/**
 * Brings `schema` to the latest of `migrations`: creates the schema when missing, then
 * runs kysely's Migrator with its bookkeeping tables inside that schema. Names are
 * `YYYYMMDDTHHMM_snake_case` (`20250101T1200_create_products`) and sort in run order: a new
 * migration must sort after every applied one. The pending ones run in one transaction: when
 * one fails, the error names it and none of the batch stays applied.
 *
 * A migration renamed later lists its old names in `renamedFrom`, and a schema that applied it
 * under one of them keeps it applied.
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
  const misnamed = Object.keys(migrations).find((name) => !MIGRATION_NAME.test(name));
  if (misnamed !== undefined) {
    throw new Error(
      `migration ${misnamed} of schema ${schema} is misnamed: use YYYYMMDDTHHMM_snake_case, e.g. 20250101T1200_create_products`,
    );
  }
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  if (rows[0]?.schema !== schema) {
    throw new Error(
      `cannot migrate schema ${schema}: the Kysely handle uses ${rows[0]?.schema ?? "no schema"}; pass database.kysely("${schema}")`,
    );
  }

  const applied = await appliedMigrations(db, schema, migrations, logger);
  assertAppliedInOrder(schema, Object.keys(migrations), applied);
  const migrator = new Migrator({
    db,
    migrationTableSchema: schema,
    // The order is checked above, by name. Kysely checks it by the time each migration ran,
    // which a renamed migration's record does not follow: it ran in its old place.
    allowUnorderedMigrations: true,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const ran = results.filter((r) => r.status === "Success").map((r) => r.migrationName);
  if (ran.length > 0) logger.info({ schema, applied: ran }, "migrations applied");

  if (error !== undefined) {
    const failed = results.find((r) => r.status === "Error")?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(failed ? `migration ${failed} of schema ${schema} failed: ${reason}` : `migrating schema ${schema} failed: ${reason}`, {
      cause: error,
    });
  }
  logger.debug({ schema, total: Object.keys(migrations).length }, "schema up to date");
}

/**
 * The names of the migrations `schema` has applied (none before its first migration), after
 * renaming the records of migrations applied under a name listed in their `renamedFrom`.
 */
async function appliedMigrations(
  db: Kysely<any>,
  schema: string,
  migrations: Record<string, Migration>,
  logger: Logger,
): Promise<string[]> {
  const { rows: tables } = await sql`
    select 1 from information_schema.tables where table_schema = ${schema} and table_name = ${MIGRATION_TABLE}`.execute(db);
  if (tables.length === 0) return [];
  const table = sql.id(schema, MIGRATION_TABLE);
  for (const [name, migration] of Object.entries(migrations)) {
    const old = migration.renamedFrom ?? [];
    if (old.length === 0) continue;
    // Idempotent, so replicas starting together may all run it.
    const renamed = await sql`
      update ${table} set name = ${name}
      where name in (${sql.join(old)}) and not exists (select 1 from ${table} where name = ${name})`.execute(db);
    if (Number(renamed.numAffectedRows ?? 0n) > 0) logger.info({ schema, migration: name, renamed_from: old }, "migration record renamed");
  }
  const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(db);
  return rows.map((r) => r.name);
}

/** Throws unless the applied migrations are known and are the first ones by name. */
function assertAppliedInOrder(schema: string, names: readonly string[], applied: readonly string[]): void {
  const unknown = applied.find((name) => !names.includes(name));
  if (unknown !== undefined) {
    throw new Error(
      `schema ${schema} has applied migration ${unknown}, which is not among its migrations (a renamed migration lists its old names in renamedFrom)`,
    );
  }
  const sorted = [...names].sort();
  const done = [...applied].sort();
  const i = done.findIndex((name, at) => name !== sorted[at]);
  if (i >= 0) {
    throw new Error(
      `migration ${sorted[i]} of schema ${schema} is not applied but sorts before the applied ${done[i]}: a new migration must sort after every applied one`,
    );
  }
}
