import {
  ConfigError,
  closeClient,
  createClient,
  createGrpcJwksProvider,
  createGrpcServer,
  createTokenVerifier,
  type Database,
  type EventBus,
  type Logger,
  migrateToLatest,
  requireUser,
  type Subscription,
  serviceRegistration,
  type TokenVerifier,
} from "@shopmesh/platform";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import type { NotificationConfig } from "./config.js";
import { notificationMigrations } from "./db/migrations/index.js";
import type { NotificationDb } from "./db/tables.js";
import { subscribeNotifications } from "./events/notification-consumer.js";
import { createCapturingMailer, createSmtpMailer, type Mailer } from "./notification/mailer.js";
import { createNotifications, type Notifications } from "./notification/notification.service.js";
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
  const schema = config.DB_SCHEMA;
  const db = opts.db.kysely<NotificationDb>(schema);

  let jwksClient: ReturnType<typeof createClient<typeof AuthService>> | undefined;
  let verifier = opts.verifier;
  if (!verifier) {
    if (config.AUTH_ADDR === undefined) {
      throw new ConfigError("missing required environment variable AUTH_ADDR (host:port of auth, to verify access tokens)");
    }
    jwksClient = createClient(AuthService, config.AUTH_ADDR, { logger });
    verifier = createTokenVerifier({
      jwks: createGrpcJwksProvider(jwksClient),
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
    });
  }

  const mailer: Mailer = config.SMTP_URL ? createSmtpMailer(config.SMTP_URL, config.SMTP_FROM) : createCapturingMailer();
  const notifications = createNotifications({ db, mailer, logger });
  const server = createGrpcServer({
    name: "notification",
    host: opts.host ?? config.NOTIFICATION_HOST,
    port: opts.port ?? config.NOTIFICATION_PORT,
    services: [serviceRegistration(NotificationService, notificationHandlers(notifications))],
    interceptors: [requireUser(verifier)],
    logger,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
  });

  let subscription: Subscription | undefined;
  let started: Promise<number> | undefined;
  let stopped: Promise<void> | undefined;
  return {
    notifications,
    get port() {
      return server.port;
    },
    start() {
      started ??= (async () => {
        await migrateToLatest(db, schema, { ...notificationMigrations }, logger);
        const port = await server.start();
        const resent = await notifications.deliverPending();
        if (resent > 0) logger.warn({ count: resent }, "delivered notifications left pending by a previous run");
        if (opts.bus) subscription = subscribeNotifications({ bus: opts.bus, db, notifications, logger });
        logger.info({ delivery: config.SMTP_URL ? "smtp" : "captured" }, "notification service started");
        return port;
      })();
      return started;
    },
    stop() {
      stopped ??= (async () => {
        if (!started) return;
        await started.catch(() => undefined);
        await subscription?.unsubscribe();
        await server.stop();
        if (jwksClient) closeClient(jwksClient);
        mailer.close();
      })();
      return stopped;
    },
  };
}
