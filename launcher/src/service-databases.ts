import { Client } from "pg";

/** The services, in the order the launchers list them. */
export const serviceNames = ["auth", "catalog", "cart", "order", "payment", "notification"] as const;
export type ServiceName = (typeof serviceNames)[number];

/** Each service's database on one server: `<prefix>_<service>`. */
export function serviceDatabases(prefix: string): Record<ServiceName, string> {
  return Object.fromEntries(serviceNames.map((s) => [s, `${prefix}_${s}`])) as Record<ServiceName, string>;
}

/** `serverUrl` with its database replaced by `database`. */
export function databaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withAdmin<T>(postgresUrl: string, fn: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** Creates the databases that do not exist yet (names are checked identifiers). */
export async function ensureDatabases(postgresUrl: string, names: readonly string[]): Promise<void> {
  await withAdmin(postgresUrl, async (admin) => {
    const { rows } = await admin.query<{ datname: string }>("select datname from pg_database where datname = any($1)", [names]);
    const existing = new Set(rows.map((r) => r.datname));
    for (const name of names) {
      if (existing.has(name)) continue;
      await admin.query(`create database "${name}"`).catch((err: { code?: string }) => {
        // Another launcher created it first.
        if (err.code !== "42P04" && err.code !== "23505") throw err;
      });
    }
  });
}

/** Drops the databases `serviceDatabases(prefix)` names (for tests). */
export async function dropServiceDatabases(postgresUrl: string, prefix: string): Promise<void> {
  await withAdmin(postgresUrl, async (admin) => {
    for (const name of Object.values(serviceDatabases(prefix))) await admin.query(`drop database if exists "${name}" with (force)`);
  });
}
