import { createAdminServer, createLogger, registerReadiness, requireTlsDir, setupTracing, shutdownTracing } from "@shopmesh/platform";
import { readEdgeConfig, upstreamsFromConfig } from "./config.js";
import { createEdge } from "./edge.js";

/** Distributed entry: `node edge/dist/main.js`, configured by environment variables. */
const config = readEdgeConfig();
requireTlsDir(config);
setupTracing(config);
const logger = createLogger({ name: "edge", level: config.LOG_LEVEL });
const upstreams = upstreamsFromConfig(config);
if (Object.keys(upstreams).length === 0) logger.warn("no upstream configured (CATALOG_ADDR, …): only /healthz and /readyz are served");

const edge = createEdge({ config, logger, upstreams });
const admin = createAdminServer({ host: config.METRICS_HOST, port: config.METRICS_PORT, logger, gcEnabled: config.ADMIN_GC_ENABLED });
let started = false;
registerReadiness({ name: "edge/started", ready: () => started });

const stop = (signal: string) => {
  logger.info({ signal }, "stopping");
  started = false;
  edge
    .stop()
    .then(() => admin.stop())
    .then(() => shutdownTracing())
    .catch((err: unknown) => {
      logger.error({ err }, "stop failed");
      process.exitCode = 1;
    });
};
process.once("SIGTERM", () => stop("SIGTERM"));
process.once("SIGINT", () => stop("SIGINT"));

try {
  await admin.start();
  await edge.start();
  started = true;
  logger.info({ url: edge.url, metrics: `${admin.url}/metrics` }, "edge ready");
} catch (err) {
  logger.fatal({ err }, "edge failed to start");
  process.exitCode = 1;
  await edge.stop();
  await admin.stop();
}
