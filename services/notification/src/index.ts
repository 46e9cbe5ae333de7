export { type NotificationConfig, notificationConfigSchema, readNotificationConfig } from "./config.js";
export { createNotificationServer, type NotificationServer, type NotificationServerOptions } from "./server.js";
export { notificationMigrations } from "./db/migrations/index.js";
export { NOTIFICATION_EVENT_TYPES, NOTIFICATION_GROUP } from "./events/notification-consumer.js";
export type { Notification, NotificationKind, DeliveryStatus } from "./domain/notification.js";
export type { Notifications } from "./app/use-cases.js";
