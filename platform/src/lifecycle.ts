import { ConfigError, requireDatabaseUrl, type VarSpec } from "./config.js";
import { type Database, openDatabase } from "./db/index.js";
import { createLogger, type Logger } from "./logger.js";

/**
 * Runs `stop` once on the first SIGTERM or SIGINT. The handlers are removed then, so a second
 * signal ends the process the default way (a second Ctrl-C always works).
 */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT"];
  const onSignal = (signal: NodeJS.Signals) => {
    for (const s of signals) process.off(s, onSignal);
    logger.info({ signal }, "shutting down");
    stop().then(
      () => logger.info("stopped"),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exitCode = 1;
      },
    );
  };
  for (const s of signals) process.on(s, onSignal);
}

/**
 * Entry-point wrapper for `main.ts` files: runs `start`, and on failure prints a ConfigError's
 * message alone (it names the variable) or logs the error, setting a non-zero exit code.
 */
export function runMain(start: () => Promise<void>, logger?: Logger): void {
  start().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
    } else if (logger) {
      logger.fatal({ err }, "failed to start");
    } else {
      process.stderr.write(`failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exitCode = 1;
  });
}

/** What {@link runService} needs of a service once created. */
export interface RunnableService {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Distributed-mode entry point of a service (its whole `main.ts`): reads its config, opens its
 * Postgres database at DATABASE_URL, creates and starts the service. The first SIGTERM/SIGINT
 * stops the service, then closes the database; a failed start does the same before failing.
 */
export function runService<C extends { readonly DATABASE_URL: string | undefined; readonly LOG_LEVEL: string }>(opts: {
  /** The service's schema; its DATABASE_URL doc goes into the error when the variable is unset. */
  readonly schema: { readonly DATABASE_URL: VarSpec<string | undefined> };
  readonly readConfig: () => C;
  readonly create: (deps: { config: C; db: Database; logger: Logger }) => RunnableService;
}): void {
  runMain(async () => {
    const config = opts.readConfig();
    const url = requireDatabaseUrl(config, opts.schema);
    // No name here: each service tags its own lines (`service: "auth"`), as in embedded mode.
    const logger = createLogger({ level: config.LOG_LEVEL });
    const db = await openDatabase({ kind: "postgres", url }, logger);
    const service = opts.create({ config, db, logger });
    stopOnSignals(async () => {
      await service.stop();
      await db.close();
    }, logger);
    try {
      await service.start();
    } catch (err) {
      await service.stop().catch(() => undefined);
      await db.close().catch(() => undefined);
      throw err;
    }
  });
}
