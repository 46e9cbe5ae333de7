import { runService } from "@shopmesh/platform";
import { orderConfigSchema, readOrderConfig } from "./config.js";
import { createOrderServer } from "./server.js";

/** Distributed mode: one order process on its own Postgres database, its events through Kafka. */
runService({ name: "order", schema: orderConfigSchema, readConfig: readOrderConfig, create: createOrderServer });
