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

/**
 * Creates the databases that do not exist yet (names are checked identifiers), each on a session
 * of its own and all at once: a CREATE DATABASE copies its template and waits on the disk, so
 * six of them together take about a third of the time they take one after another.
 */
export async function ensureDatabases(postgresUrl: string, names: readonly string[]): Promise<void> {
  const existing = await withAdmin(postgresUrl, async (admin) => {
    const { rows } = await admin.query<{ datname: string }>("select datname from pg_database where datname = any($1)", [names]);
    return new Set(rows.map((r) => r.datname));
  });
  const created = await Promise.allSettled(
    names
      .filter((name) => !existing.has(name))
      .map((name) =>
        withAdmin(postgresUrl, (admin) =>
          admin.query(`create database "${name}"`).catch((err: { code?: string }) => {
            // Another launcher created it first.
            if (err.code !== "42P04" && err.code !== "23505") throw err;
          }),
        ),
      ),
  );
  const failure = created.find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
}

/** Drops the databases `serviceDatabases(prefix)` names (for tests). */
export async function dropServiceDatabases(postgresUrl: string, prefix: string): Promise<void> {
  await withAdmin(postgresUrl, async (admin) => {
    for (const name of Object.values(serviceDatabases(prefix))) await admin.query(`drop database if exists "${name}" with (force)`);
  });
}
