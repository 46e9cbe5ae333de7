/** `npm start`, after its entry (embedded.ts) has set the service worker thread off: the whole shop in one process. */
import {
  createAdminServer,
  createLogger,
  registerReadiness,
  runMain,
  setupTracing,
  shutdownTracing,
  stopOnSignals,
} from "@shopmesh/platform";
import { readEmbeddedConfig } from "./config.js";
import { embeddedAddressesFile, writeEmbeddedAddresses } from "./embedded-addresses.js";
import { startEmbedded } from "./embedded-mesh.js";

runMain(async () => {
  const started = performance.now();
  const config = readEmbeddedConfig();
  setupTracing(config);
  const logger = createLogger({ level: config.LOG_LEVEL });
  // Metrics and health for the whole process, never on the edge's public port.
  const admin = createAdminServer({ host: config.METRICS_HOST, port: config.METRICS_PORT, logger, gcEnabled: config.ADMIN_GC_ENABLED });
  let ready = false;
  registerReadiness({ name: "embedded/started", ready: () => ready });
  await admin.start();
  const mesh = await startEmbedded(process.env, logger).catch(async (err: unknown) => {
    await admin.stop();
    throw err;
  });
  ready = true;
  // For tools that talk to the services themselves (npm run reconcile).
  const forgetAddresses =
    config.SHOPMESH_DATA_DIR === "memory"
      ? undefined
      : writeEmbeddedAddresses(embeddedAddressesFile(config.SHOPMESH_DATA_DIR), {
          pid: process.pid,
          edge: mesh.url,
          services: mesh.services,
          postgres: mesh.postgresUrl,
          ...(mesh.tlsDir ? { tls: mesh.tlsDir } : {}),
        });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      ready = false;
      forgetAddresses?.();
      await mesh.stop();
      await admin.stop();
      await shutdownTracing();
    })();
    return stopping;
  };
  stopOnSignals(stop, logger);
  // The services cannot go on without their database: stop, and exit non-zero.
  void mesh.failed.then(async () => {
    process.exitCode = 1;
    await stop().catch((err: unknown) => logger.error({ err }, "shutdown failed"));
  });
  process.stdout.write(
    `\nshopmesh is ready in ${Math.round(performance.now() - started)} ms at ${mesh.url}\n` +
      `  REST:    curl ${mesh.url}/api/products\n` +
      `  Connect: curl -H 'content-type: application/json' -d '{"page_size":3}' ${mesh.url}/shop.catalog.v1.CatalogService/ListProducts\n` +
      `  gRPC:    grpcurl -plaintext localhost:${mesh.edgePort} list   (catalog directly: ${mesh.services.catalog}, ${mesh.tlsDir ? `mutual TLS with the certificates in ${mesh.tlsDir}` : "plaintext"})\n` +
      `  Metrics: curl ${admin.url}/metrics   (readiness: ${admin.url}/readyz)\n\n`,
  );
});
