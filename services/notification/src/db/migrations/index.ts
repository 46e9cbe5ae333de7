import { inboxMigrations, type Migration } from "@shopmesh/platform";
import { auditMigrations } from "@shopmesh/platform";
import * as createNotification from "./20261124T0900_create_notification.js";
import * as indexNotificationsOrder from "./20261207T1700_index_notifications_order.js";

/** Migrations of the notification schema, by name; names sort in the order they apply. */
export const notificationMigrations: Readonly<Record<string, Migration>> = {
  ...auditMigrations,
  ...inboxMigrations,
  "20261124T0900_create_notification": createNotification,
  "20261207T1700_index_notifications_order": indexNotificationsOrder,
};
