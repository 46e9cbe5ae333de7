import { ConfigError } from "./config.js";
import type { Logger } from "./logger.js";

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
