// Distributed mode for the bench: the launcher's startDistributed (six services and the edge as
// child processes) on databases of the run's own on the Postgres server, dropped after.
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { type DistributedMesh, describeExit, dropServiceDatabases, serviceNames, startDistributed } from "@shopmesh/launcher";
import { type Logger, openDatabase } from "@shopmesh/platform";

/** `url` without its password, for logs and results. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(not a URL)";
  }
}

/** Why the Postgres server at `url` cannot be used, or undefined when it answers. */
export async function probePostgres(url: string, logger: Logger): Promise<string | undefined> {
  const database = await openDatabase({ url, poolSize: 1 }, logger);
  try {
    await database
      .kysely("public")
      .selectNoFrom((eb) => eb.lit(1).as("one"))
      .execute();
    return undefined;
  } catch (err) {
    return `Postgres at ${redactUrl(url)} not reachable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await database.close().catch(() => undefined);
  }
}

export interface BenchDistributedMesh {
  readonly mesh: DistributedMesh;
  /** Processes that ended without being asked to, one line each. */
  readonly unexpectedExits: readonly string[];
  /** Stops every process and drops the run's databases. */
  stop(): Promise<void>;
}

export async function startDistributedMesh(opts: {
  readonly postgresUrl: string;
  readonly brokers: readonly string[];
  readonly logPath: string;
  readonly logLevel: string;
  readonly readyTimeoutMs: number;
}): Promise<BenchDistributedMesh> {
  const prefix = `bench_${randomBytes(4).toString("hex")}`;
  const out = createWriteStream(opts.logPath, { flags: "a" });
  const unexpectedExits: string[] = [];
  const ports = Object.fromEntries(serviceNames.map((s) => [`${s.toUpperCase()}_PORT`, "0"]));
  const dropDatabases = () => dropServiceDatabases(opts.postgresUrl, prefix);
  let mesh: DistributedMesh;
  try {
    mesh = await startDistributed(
      {
        // Other variables (e.g. PAYMENT_FAILURE_RATE) pass through, as to the embedded mesh.
        ...process.env,
        ...ports,
        EDGE_PORT: "0",
        // An address rather than "localhost": no name lookup in the measured requests.
        EDGE_HOST: "127.0.0.1",
        // The load comes from loopback: it opts out of the edge's rate limits.
        EDGE_RATE_LIMIT_EXEMPT: "127.0.0.1,::1",
        POSTGRES_URL: opts.postgresUrl,
        SHOPMESH_DB_PREFIX: prefix,
        KAFKA_BROKERS: opts.brokers.join(","),
        LOG_LEVEL: opts.logLevel,
      },
      {
        output: (name, _stream, line) => out.write(`${name} | ${line}\n`),
        onUnexpectedExit: (exit) => unexpectedExits.push(describeExit(exit)),
        readyTimeoutMs: opts.readyTimeoutMs,
      },
    );
  } catch (err) {
    await dropDatabases().catch(() => undefined);
    out.end();
    throw err;
  }
  return {
    mesh,
    unexpectedExits,
    async stop() {
      try {
        await mesh.stop();
      } finally {
        await dropDatabases();
        out.end();
      }
    },
  };
}
