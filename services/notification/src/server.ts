import { defineService, type ServiceContext, type ServiceOptions, type ServiceServer, serviceRegistration } from "@shopmesh/platform";
import { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import type { NotificationConfig } from "./config.js";
import { notificationMigrations } from "./db/migrations/index.js";
import type { NotificationDb } from "./db/tables.js";
import { subscribeNotifications } from "./events/notification-consumer.js";
import { createCapturingMailer, createSmtpMailer, type Mailer } from "./clients/mailer.js";
import { createNotifications, type Notifications } from "./app/use-cases.js";
import { notificationHandlers } from "./rpc/notification-handlers.js";

/** Notification consumes UserRegistered, OrderPaid and OrderCancelled from the bus (group "notification"). */
export type NotificationServerOptions = ServiceOptions<NotificationConfig>;

export interface NotificationServer extends ServiceServer {
  /** The use cases behind the RPCs and consumers (for in-process callers and tests). */
  readonly notifications: Notifications;
}

/** The notification service: its gRPC server and event consumers over its schema of `db`, mailing through SMTP_URL or capturing. */
export const createNotificationServer: (opts: NotificationServerOptions) => NotificationServer = defineService({
  name: "notification",
  migrations: notificationMigrations,
  listen: (config: NotificationConfig) => ({ host: config.NOTIFICATION_HOST, port: config.NOTIFICATION_PORT }),
  create({ config, db, logger, authVerifier }: ServiceContext<NotificationConfig, NotificationDb>) {
    const verifier = authVerifier(config);
    const mailer: Mailer = config.SMTP_URL ? createSmtpMailer(config.SMTP_URL, config.SMTP_FROM) : createCapturingMailer();
    const notifications = createNotifications({ db, mailer, logger });
    return {
      expose: { notifications },
      rpc: serviceRegistration(NotificationService, notificationHandlers(notifications)),
      verifier,
      // Delivers what a previous run left pending before consuming.
      afterServe: async () => {
        const resent = await notifications.deliverPending();
        if (resent > 0) logger.warn({ count: resent }, "delivered notifications left pending by a previous run");
        logger.info({ delivery: config.SMTP_URL ? "smtp" : "captured" }, "notification service started");
      },
      subscribe: (bus) => [subscribeNotifications({ bus, db, notifications, logger })],
      onStop: () => mailer.close(),
    };
  },
});
