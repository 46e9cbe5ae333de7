import { runService } from "@shopmesh/platform";
import { paymentConfigSchema, readPaymentConfig } from "./config.js";
import { createPaymentServer } from "./server.js";

/** Distributed mode: one payment process on its own Postgres database, its events through Kafka. */
runService({ name: "payment", schema: paymentConfigSchema, readConfig: readPaymentConfig, create: createPaymentServer });
