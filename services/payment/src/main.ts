import { createLogger, openDatabase, requireDatabaseUrl, runMain, stopOnSignals } from "@shopmesh/platform";
import { paymentConfigSchema, readPaymentConfig } from "./config.js";
import { createPaymentService } from "./server.js";

/** Distributed mode: one payment process on its own Postgres database. */
runMain(async () => {
  const config = readPaymentConfig();
  const url = requireDatabaseUrl(config, paymentConfigSchema);
  const logger = createLogger({ level: config.LOG_LEVEL });
  const db = await openDatabase({ kind: "postgres", url }, logger);
  const service = createPaymentService({ config, db, logger });
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
