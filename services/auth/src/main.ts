import { createLogger, openDatabase, requireDatabaseUrl, runMain, stopOnSignals } from "@shopmesh/platform";
import { authConfigSchema, readAuthConfig } from "./config.js";
import { createAuthService } from "./server.js";

/** Distributed mode: one auth process on its own Postgres database. */
runMain(async () => {
  const config = readAuthConfig();
  const url = requireDatabaseUrl(config, authConfigSchema);
  // No name here: the service tags its own lines (`service: "auth"`), as in embedded mode.
  const logger = createLogger({ level: config.LOG_LEVEL });
  const db = await openDatabase({ kind: "postgres", url }, logger);
  const service = createAuthService({ config, db, logger });
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
