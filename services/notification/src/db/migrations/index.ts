import { inboxMigrations, type Migration } from "@shopmesh/platform";
import { auditMigrations } from "@shopmesh/platform";
import * as createNotification from "./20261124T0900_create_notification.js";

/** Migrations of the notification schema, by name; names sort in the order they apply. */
export const notificationMigrations: Readonly<Record<string, Migration>> = {
  ...auditMigrations,
  ...inboxMigrations,
  "20261124T0900_create_notification": createNotification,
};
