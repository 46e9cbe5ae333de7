import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { describeNeeding, postgresTestUrl } from "@shopmesh/platform/testing";
import { Client } from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serviceNames } from "../../service-databases.js";
import { migrateScript, repoPath, repoRoot } from "./processes.js";

/** psql, which deploy/postgres/create-roles.sh runs (the Postgres image has it; CI installs it with Postgres). */
const psql = ["/usr/bin/psql", "/usr/local/bin/psql"].find((p) => existsSync(p));

function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoRoot, env: { PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

/** `url` as `user` (password `password`) on `database`. */
function as(url: string, user: string, password: string, database: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  u.pathname = `/${database}`;
  return u.toString();
}

describeNeeding(
  "deploy/postgres/create-roles.sh",
  psql === undefined ? "psql is not installed (scripts/ensure-postgres.sh installs it with Postgres)" : undefined,
  () => {
    const prefix = `t_roles_${randomBytes(4).toString("hex")}`;
    const passwords = Object.fromEntries(serviceNames.map((s) => [s, `pw-${s}-${randomBytes(6).toString("hex")}`]));
    const env = () => ({
      PG_ADMIN_URL: postgresTestUrl(),
      SHOPMESH_DB_PREFIX: prefix,
      ...Object.fromEntries(serviceNames.map((s) => [`DB_PASSWORD_${s.toUpperCase()}`, passwords[s] as string])),
    });
    const urlOf = (service: string, database = service) =>
      as(postgresTestUrl(), `${prefix}_${service}`, passwords[service] as string, `${prefix}_${database}`);
    let admin: Client | undefined;

    beforeAll(async () => {
      if (psql === undefined) throw new Error("REQUIRE_INFRA=1 but psql is missing");
      admin = new Client({ connectionString: postgresTestUrl() });
      await admin.connect();
    });
    afterAll(async () => {
      for (const s of serviceNames) {
        await admin?.query(`drop database if exists "${prefix}_${s}" with (force)`);
        await admin?.query(`drop role if exists "${prefix}_${s}"`);
      }
      await admin?.end();
    });

    /** The SQLSTATE of connecting with `url` and reading `sql`, or "ok". */
    const attempt = async (url: string, sql = "select 1"): Promise<string> => {
      const client = new Client({ connectionString: url });
      try {
        await client.connect();
        await client.query(sql);
        return "ok";
      } catch (err) {
        return (err as { code?: string }).code ?? String(err);
      } finally {
        await client.end().catch(() => undefined);
      }
    };

    it("gives each service a role that owns its database and nothing else, and runs again without harm", async () => {
      for (let round = 0; round < 2; round++) {
        const r = await run("bash", [repoPath("deploy/postgres/create-roles.sh")], env());
        expect(r.code, r.output).toBe(0);
      }
      const roles = await admin?.query(
        "select rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles where rolname like $1 order by rolname",
        [`${prefix}_%`],
      );
      expect(roles?.rows).toEqual(
        serviceNames
          .map((s) => ({ rolname: `${prefix}_${s}`, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false }))
          .sort((a, b) => a.rolname.localeCompare(b.rolname)),
      );
      const owners = await admin?.query(
        "select datname, pg_get_userbyid(datdba) as owner from pg_database where datname like $1 order by datname",
        [`${prefix}_%`],
      );
      for (const row of owners?.rows ?? []) expect(row.owner).toBe(row.datname);
      expect(owners?.rows).toHaveLength(serviceNames.length);
    });

    it("lets each service migrate its own database, and no other service's role reach auth's signing keys", async () => {
      for (const service of ["auth", "order"]) {
        const r = await run(process.execPath, [repoPath(migrateScript), service], { DATABASE_URL: urlOf(service), LOG_LEVEL: "warn" });
        expect(r.code, r.output).toBe(0);
      }
      expect(await attempt(urlOf("auth"), "select count(*) from auth.signing_keys")).toBe("ok");
      for (const other of serviceNames.filter((s) => s !== "auth")) {
        // 42501: insufficient privilege (CONNECT to the auth database is the auth role's alone).
        expect(await attempt(urlOf(other, "auth"), "select count(*) from auth.signing_keys"), other).toBe("42501");
      }
      expect(await attempt(urlOf("order", "payment"))).toBe("42501");
    });
  },
);
