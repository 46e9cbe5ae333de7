import { createLogger, openDatabase, requireDatabaseUrl, runMain, stopOnSignals } from "@shopmesh/platform";
import { orderConfigSchema, readOrderConfig } from "./config.js";
import { createOrderService } from "./server.js";

/** Distributed mode: one order process on its own Postgres database. */
runMain(async () => {
  const config = readOrderConfig();
  const url = requireDatabaseUrl(config, orderConfigSchema);
  const logger = createLogger({ level: config.LOG_LEVEL });
  const db = await openDatabase({ kind: "postgres", url }, logger);
  const service = createOrderService({ config, db, logger });
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
