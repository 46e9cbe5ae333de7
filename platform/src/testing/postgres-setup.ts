/**
 * Vitest global setup: without `DATABASE_URL`, starts an embedded PostgreSQL server (a throwaway
 * cluster in a temporary folder) for the whole run and sets `DATABASE_URL` to it for the test
 * processes, which inherit it. CI sets `DATABASE_URL` to a server of its own.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "../db/embedded-postgres.js";
import { createLogger } from "../logger.js";

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.DATABASE_URL) return undefined;
  const dataDir = await mkdtemp(join(tmpdir(), "shopmesh-test-"));
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "warn" });
  try {
    const server = await startEmbeddedPostgres({
      dataDir,
      durable: false,
      logger,
      onExit: (reason) => logger.error({ reason }, "the tests' embedded PostgreSQL server ended"),
    });
    process.env.DATABASE_URL = server.url;
    return async () => {
      delete process.env.DATABASE_URL;
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
