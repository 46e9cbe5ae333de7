import { createLogger, openDatabase, requireDatabaseUrl, runMain, stopOnSignals } from "@shopmesh/platform";
import { cartConfigSchema, readCartConfig } from "./config.js";
import { createCartService } from "./server.js";

/** Distributed mode: one cart process on its own Postgres database. */
runMain(async () => {
  const config = readCartConfig();
  const url = requireDatabaseUrl(config, cartConfigSchema);
  const logger = createLogger({ level: config.LOG_LEVEL });
  const db = await openDatabase({ kind: "postgres", url }, logger);
  const service = createCartService({ config, db, logger });
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
