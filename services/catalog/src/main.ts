import { createLogger, openDatabase, requireDatabaseUrl, runMain, stopOnSignals } from "@shopmesh/platform";
import { catalogConfigSchema, readCatalogConfig } from "./config.js";
import { createCatalogService } from "./server.js";

/** Distributed mode: one catalog process on its own Postgres database. */
runMain(async () => {
  const config = readCatalogConfig();
  const url = requireDatabaseUrl(config, catalogConfigSchema);
  // No name here: the service tags its own lines (`service: "catalog"`), as in embedded mode.
  const logger = createLogger({ level: config.LOG_LEVEL });
  const db = await openDatabase({ kind: "postgres", url }, logger);
  const service = createCatalogService({ config, db, logger });
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
