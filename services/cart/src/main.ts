import { runService } from "@shopmesh/platform";
import { cartConfigSchema, readCartConfig } from "./config.js";
import { createCartServer } from "./server.js";

/** Distributed mode: one cart process on its own Postgres database, its events through Kafka. */
runService({ name: "cart", schema: cartConfigSchema, readConfig: readCartConfig, create: createCartServer });
