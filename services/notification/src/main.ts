import { createLogger, openDatabase, requireDatabaseUrl, runMain, stopOnSignals } from "@shopmesh/platform";
import { notificationConfigSchema, readNotificationConfig } from "./config.js";
import { createNotificationService } from "./server.js";

/** Distributed mode: one notification process on its own Postgres database. */
runMain(async () => {
  const config = readNotificationConfig();
  const url = requireDatabaseUrl(config, notificationConfigSchema);
  const logger = createLogger({ level: config.LOG_LEVEL });
  const db = await openDatabase({ kind: "postgres", url }, logger);
  const service = createNotificationService({ config, db, logger });
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
