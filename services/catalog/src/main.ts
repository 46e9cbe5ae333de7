import { runService } from "@shopmesh/platform";
import { catalogConfigSchema, readCatalogConfig } from "./config.js";
import { createCatalogServer } from "./server.js";

/** Distributed mode: one catalog process on its own Postgres database, its events through Kafka. */
runService({ name: "catalog", schema: catalogConfigSchema, readConfig: readCatalogConfig, create: createCatalogServer });
