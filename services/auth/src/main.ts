import { runService } from "@shopmesh/platform";
import { authConfigSchema, readAuthConfig } from "./config.js";
import { createAuthServer } from "./server.js";

/** Distributed mode: one auth process on its own Postgres database, its events through Kafka. */
runService({ name: "auth", schema: authConfigSchema, readConfig: readAuthConfig, create: createAuthServer });
