/** `npm run reconcile`: checks the books of a running mesh; exit code 1 on any discrepancy. */
import { join, resolve } from "node:path";
import { ConfigError, createLogger, meshTlsOf, runMain } from "@shopmesh/platform";
import { embeddedAddressesFile, readEmbeddedAddresses } from "../embedded-addresses.js";
import { formatReport, reconcile } from "./reconcile.js";
import { readReconcileConfig } from "./reconcile-config.js";

runMain(async () => {
  const config = readReconcileConfig();
  const logger = createLogger({ level: "warn" });
  let { ORDER_ADDR: order, PAYMENT_ADDR: payment, CATALOG_ADDR: catalog } = config;
  const file = embeddedAddressesFile(config.SHOPMESH_DATA_DIR);
  const embedded = readEmbeddedAddresses(file);
  if (order === undefined || payment === undefined || catalog === undefined) {
    // The embedded mode's services listen on ports picked at start; it writes them down.
    if (!embedded) {
      throw new ConfigError(`set ORDER_ADDR, PAYMENT_ADDR and CATALOG_ADDR, or start the embedded mode (npm start), which writes ${file}`);
    }
    order ??= embedded.services.order;
    payment ??= embedded.services.payment;
    catalog ??= embedded.services.catalog;
  }
  if (!order || !payment || !catalog) throw new ConfigError("the addresses of order, payment and catalog are all needed");
  const tlsDir = config.SHOPMESH_TLS_DIR ?? embedded?.tls ?? join(resolve(config.SHOPMESH_DATA_DIR), "tls");
  const tls = meshTlsOf({ ...config, SHOPMESH_TLS_DIR: tlsDir }, "reconcile", logger);
  const report = await reconcile(
    { order, payment, catalog },
    { stuckAfterMs: config.RECONCILE_STUCK_AFTER_SECONDS * 1000, settleMs: config.RECONCILE_SETTLE_SECONDS * 1000, logger, tls },
  );
  process.stdout.write(formatReport(report));
  if (report.discrepancies.length > 0) process.exitCode = 1;
});
