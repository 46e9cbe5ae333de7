import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { postgresTestUrl } from "@shopmesh/platform/testing";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateScript, repoPath, repoRoot } from "./processes.js";

/** Runs the migration entry point as the chart's Jobs do; resolves to its exit code and output. */
function migrate(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [repoPath(migrateScript), ...args],
      { cwd: repoRoot, env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

describe("node launcher/dist/migrate.js <service>", () => {
  const schema = `t_migrate_${randomBytes(4).toString("hex")}`;
  let url = "";
  let admin: Client | undefined;
  beforeAll(async () => {
    url = postgresTestUrl();
    admin = new Client({ connectionString: url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`drop schema if exists "${schema}" cascade`);
    await admin?.end();
  });

  it("brings the service's schema to its latest migration, and does nothing the second time", async () => {
    const first = await migrate(["catalog"], { DATABASE_URL: url, DB_SCHEMA: schema });
    expect(first.code, first.output).toBe(0);
    const tables = await admin?.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = $1", [
      schema,
    ]);
    expect(tables?.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(["products", "stock", "outbox", "inbox", "kysely_migration"]),
    );
    const applied = await admin?.query(`select name from "${schema}".kysely_migration`);
    const second = await migrate(["catalog"], { DATABASE_URL: url, DB_SCHEMA: schema });
    expect(second.code, second.output).toBe(0);
    expect((await admin?.query(`select name from "${schema}".kysely_migration`))?.rows).toEqual(applied?.rows);
  });

  it("fails naming the problem: an unknown service, a missing DATABASE_URL", async () => {
    const unknown = await migrate(["shipping"], { DATABASE_URL: url });
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain("shipping");
    const missing = await migrate(["order"], {});
    expect(missing.code).toBe(1);
    expect(missing.output).toContain("DATABASE_URL");
  });
});
