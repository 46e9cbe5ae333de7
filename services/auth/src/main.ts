import { runService } from "@shopmesh/platform";
import { authConfigSchema, readAuthConfig } from "./config.js";
import { createAuthService } from "./server.js";

/** Distributed mode: one auth process on its own Postgres database. */
runService({ schema: authConfigSchema, readConfig: readAuthConfig, create: createAuthService });
