import { runService } from "@shopmesh/platform";
import { notificationConfigSchema, readNotificationConfig } from "./config.js";
import { createNotificationServer } from "./server.js";

/** Distributed mode: one notification process on its own Postgres database, its events through Kafka. */
runService({
  name: "notification",
  schema: notificationConfigSchema,
  readConfig: readNotificationConfig,
  create: createNotificationServer,
});
