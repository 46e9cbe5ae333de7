import {
  authorize,
  authVerifier,
  createServiceHost,
  type Database,
  type EventBus,
  type Logger,
  serviceRegistration,
  type TokenVerifier,
  meshTlsOf,
} from "@shopmesh/platform";
import { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import type { NotificationConfig } from "./config.js";
import { notificationMigrations } from "./db/migrations/index.js";
import type { NotificationDb } from "./db/tables.js";
import { subscribeNotifications } from "./events/notification-consumer.js";
import { createCapturingMailer, createSmtpMailer, type Mailer } from "./clients/mailer.js";
import { createNotifications, type Notifications } from "./app/use-cases.js";
import { notificationHandlers } from "./rpc/notification-handlers.js";

export interface NotificationServiceOptions {
  readonly config: NotificationConfig;
  /** The process's database; notification uses the schema `config.DB_SCHEMA` in it. The caller closes it. */
  readonly db: Database;
  readonly logger: Logger;
  /** Overrides NOTIFICATION_HOST (embedded mode listens on 127.0.0.1). */
  readonly host?: string;
  /** Overrides NOTIFICATION_PORT (0 picks a free port). */
  readonly port?: number;
  /** Where UserRegistered, OrderPaid and OrderCancelled are consumed from (group "notification"). Without one, nothing is consumed. */
  readonly bus?: EventBus;
  /** Verifies access tokens; default: a verifier over auth's GetJwks at AUTH_ADDR. */
  readonly verifier?: TokenVerifier;
}

export interface NotificationServer {
  /** Migrates the schema, serves, delivers what a previous run left pending, then consumes; resolves to the port. */
  start(): Promise<number>;
  /** Graceful stop: consuming stops after the event in progress, in-flight calls drain, the server closes. */
  stop(): Promise<void>;
  /** The bound port, once started. */
  readonly port: number;
  /** The use cases behind the RPCs and consumers (for in-process callers and tests). */
  readonly notifications: Notifications;
}

/** The notification service: its gRPC server (with health and reflection) and event consumers over its schema of `db`. */
export function createNotificationService(opts: NotificationServiceOptions): NotificationServer {
  const { config } = opts;
  const logger = opts.logger.child({ service: "notification" });
  // Mutual TLS as configured: the server, and every client it opens, speak as "notification".
  const tls = meshTlsOf(config, "notification", logger);
  const schema = config.DB_SCHEMA;
  const db = opts.db.kysely<NotificationDb>(schema);
  const auth = authVerifier(config, opts.verifier, logger, tls);
  const mailer: Mailer = config.SMTP_URL ? createSmtpMailer(config.SMTP_URL, config.SMTP_FROM) : createCapturingMailer();
  const notifications = createNotifications({ db, mailer, logger });
  const host = createServiceHost({
    name: "notification",
    logger,
    faults: config,
    db,
    schema,
    migrations: { ...notificationMigrations },
    grpc: {
      tls,
      host: opts.host ?? config.NOTIFICATION_HOST,
      port: opts.port ?? config.NOTIFICATION_PORT,
      services: [serviceRegistration(NotificationService, notificationHandlers(notifications))],
      interceptors: [authorize({ service: "notification", verifier: auth.verifier })],
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    },
    bus: opts.bus,
    afterServe: async () => {
      const resent = await notifications.deliverPending();
      if (resent > 0) logger.warn({ count: resent }, "delivered notifications left pending by a previous run");
      logger.info({ delivery: config.SMTP_URL ? "smtp" : "captured" }, "notification service started");
    },
    subscribe: (bus) => [subscribeNotifications({ bus, db, notifications, logger })],
    onStop: () => {
      auth.close();
      mailer.close();
    },
  });
  return {
    notifications,
    get port() {
      return host.port;
    },
    start: () => host.start(),
    stop: () => host.stop(),
  };
}
