/** `npm start`: the whole shop in one process. */
import { createLogger, runMain, stopOnSignals } from "@shopmesh/platform";
import { readEmbeddedConfig } from "./config.js";
import { startEmbedded } from "./embedded-mesh.js";

runMain(async () => {
  const started = performance.now();
  const logger = createLogger({ level: readEmbeddedConfig().LOG_LEVEL });
  const mesh = await startEmbedded(process.env, logger);
  stopOnSignals(() => mesh.stop(), logger);
  process.stdout.write(
    `\nshopmesh is ready in ${Math.round(performance.now() - started)} ms at ${mesh.url}\n` +
      `  REST:    curl ${mesh.url}/api/products\n` +
      `  Connect: curl -H 'content-type: application/json' -d '{"page_size":3}' ${mesh.url}/shop.catalog.v1.CatalogService/ListProducts\n` +
      `  gRPC:    grpcurl -plaintext localhost:${mesh.edgePort} list   (catalog directly: ${mesh.services.catalog})\n\n`,
  );
});
