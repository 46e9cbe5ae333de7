import { runService } from "@shopmesh/platform";
import { notificationConfigSchema, readNotificationConfig } from "./config.js";
import { createNotificationService } from "./server.js";

/** Distributed mode: one notification process on its own Postgres database. */
runService({ schema: notificationConfigSchema, readConfig: readNotificationConfig, create: createNotificationService });
