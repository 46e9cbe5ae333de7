import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { type Kysely, sql } from "kysely";
import { type Database, openDatabase } from "../db/database.js";
import { type Code, ConnectError } from "../errors.js";
import { createLogger } from "../logger.js";
import { postgresTestUrl } from "./database-backends.js";

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

/** How long a session of a {@link FaultyDatabase} waits for a lock before it gives up. */
const LOCK_TIMEOUT_MS = 200;
const SSL_REQUEST_CODE = 80877103;

/**
 * A Database for a service under test that a test can break: its connections reach the tests'
 * Postgres through a TCP relay on 127.0.0.1, which {@link FaultyDatabase.goDown} closes (an
 * outage), and its sessions start with a short `lock_timeout`, so that a statement waiting on a
 * lock a test holds ({@link whileLocked}) fails with a concurrency conflict (lock_not_available,
 * answered like a serialization failure or a deadlock).
 */
export interface FaultyDatabase {
  /** The Database to hand to the service. */
  readonly db: Database;
  /** Closes the relay and cuts its connections: from now on the database cannot be reached. */
  goDown(): Promise<void>;
}

/**
 * Runs `fn` while a session of `db` of its own holds an ACCESS EXCLUSIVE lock on `table`, so that
 * every statement of a {@link FaultyDatabase} on that table fails with lock_not_available; the
 * lock holder's transaction changes nothing and ends when `fn` settles.
 */
export async function whileLocked<T>(db: Kysely<any>, table: string, fn: () => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`lock table ${sql.table(table)} in access exclusive mode`.execute(trx);
    return fn();
  });
}

/** The status code `call` settles with ("ok" when it succeeds). */
export async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

/** Opens a {@link FaultyDatabase}; after `goDown`, `db.close()` lets go of it. */
export async function openFaultyDatabase(): Promise<FaultyDatabase> {
  const target = new URL(postgresTestUrl());
  const sessions = new Set<Session>();
  let down = false;
  const server = createServer((client) => {
    const session = relay(client, tcpConnect(Number(target.port || 5432), target.hostname), () => down);
    sessions.add(session);
    client.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the database relay has no port");
  const url = new URL(target.href);
  url.hostname = "127.0.0.1";
  url.port = String(address.port);
  const db = await openDatabase({ url: url.href, poolSize: 2 }, logger);
  let closed: Promise<void> | undefined;
  const goDown = () => {
    down = true;
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const session of sessions) session.cutWhenIdle();
    });
    return closed;
  };
  return { db, goDown };
}

interface Session {
  /** Cuts the connection now if it is between transactions, else as soon as it is. */
  cutWhenIdle(): void;
}

/**
 * Relays one client connection to `upstream`, adding the lock timeout to its startup message.
 * Once `isDown()`, the connection is cut when the server reports it idle (ReadyForQuery 'I'):
 * a connection cut inside a transaction, between two statements, would fail in pg with no
 * caller to answer to.
 */
function relay(client: Socket, upstream: Socket, isDown: () => boolean): Session {
  let idle = false;
  const cut = () => {
    client.destroy();
    upstream.destroy();
  };
  const cutWhenIdle = () => {
    if (idle) cut();
  };
  for (const s of [client, upstream]) {
    s.on("error", cut);
    s.on("close", cut);
  }
  let head: Buffer = Buffer.alloc(0);
  const onStartup = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    if (head.length < 8) return;
    const length = head.readInt32BE(0);
    if (head.length < length) return;
    if (length === 8 && head.readInt32BE(4) === SSL_REQUEST_CODE) {
      // No TLS through the relay: the client goes on in plain text (or gives up).
      client.write("N");
      head = head.subarray(8);
      if (head.length > 0) onStartup(Buffer.alloc(0));
      return;
    }
    client.off("data", onStartup);
    upstream.write(withLockTimeout(head.subarray(0, length)));
    if (head.length > length) upstream.write(head.subarray(length));
    client.on("data", (data: Buffer) => {
      idle = false;
      upstream.write(data);
    });
  };
  client.on("data", onStartup);
  // The server's messages: a type byte and a length; ReadyForQuery ('Z') carries the
  // transaction status, 'I' when idle.
  let pending: Buffer = Buffer.alloc(0);
  upstream.on("data", (data: Buffer) => {
    client.write(data);
    pending = pending.length > 0 ? Buffer.concat([pending, data]) : data;
    while (pending.length >= 5) {
      const length = pending.readInt32BE(1) + 1;
      if (pending.length < length) break;
      if (pending[0] === 0x5a) idle = pending[5] === 0x49;
      pending = pending.subarray(length);
    }
    if (isDown()) cutWhenIdle();
  });
  return { cutWhenIdle };
}

/** The startup message with `-c lock_timeout=…` added to its `options` parameter. */
function withLockTimeout(startup: Buffer): Buffer {
  const params: [string, string][] = [];
  const parts = startup.subarray(8).toString("utf8").split("\0");
  for (let i = 0; i + 1 < parts.length && parts[i] !== ""; i += 2) params.push([parts[i] as string, parts[i + 1] as string]);
  const setting = `-c lock_timeout=${LOCK_TIMEOUT_MS}`;
  const options = params.find(([key]) => key === "options");
  if (options) options[1] = `${options[1]} ${setting}`;
  else params.push(["options", setting]);
  const body = Buffer.from(`${params.map(([k, v]) => `${k}\0${v}\0`).join("")}\0`, "utf8");
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(startup.readInt32BE(4), 4);
  return Buffer.concat([head, body]);
}
