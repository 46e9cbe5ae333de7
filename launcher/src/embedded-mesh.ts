import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { createAuthService, readAuthConfig } from "@shopmesh/auth";
import { createCartService, readCartConfig } from "@shopmesh/cart";
import { createCatalogService, readCatalogConfig } from "@shopmesh/catalog";
import { createEdge, readEdgeConfig } from "@shopmesh/edge";
import { createNotificationService, readNotificationConfig } from "@shopmesh/notification";
import { createOrderService, readOrderConfig } from "@shopmesh/order";
import { createPaymentService, readPaymentConfig } from "@shopmesh/payment";
import { type EventBus, type Logger, createInProcessBus, createLogger, openDatabase } from "@shopmesh/platform";
import { readEmbeddedConfig } from "./config.js";

export interface EmbeddedMesh {
  /** Base URL of the edge with its bound port, e.g. http://localhost:8080. */
  readonly url: string;
  /** The port the edge is bound to (the one picked when EDGE_PORT is 0). */
  readonly edgePort: number;
  /** Loopback gRPC address of each service, by service name ("catalog" → "127.0.0.1:40123"). */
  readonly services: Readonly<Record<string, string>>;
  /**
   * The in-process bus carrying the domain events (for operations and tests): a new consumer
   * group sees every event published after it subscribes; publishing delivers to every group.
   */
  readonly bus: EventBus;
  stop(): Promise<void>;
}

/**
 * Every service and the edge in this process: one PGlite database (a schema per service),
 * services on loopback gRPC ports, the edge on EDGE_PORT. Settings come from `env` exactly as
 * in distributed mode; only the peer addresses are filled in here.
 */
export async function startEmbedded(env: Record<string, string | undefined> = process.env, logger?: Logger): Promise<EmbeddedMesh> {
  const cfg = readEmbeddedConfig(env);
  const log = logger ?? createLogger({ level: cfg.LOG_LEVEL });
  // Each service keeps its default schema in the shared database: a DB_SCHEMA meant for one
  // service of distributed mode would otherwise put every service in the same schema.
  const serviceEnv = { ...env, DB_SCHEMA: undefined };
  const authConfig = readAuthConfig({ ...serviceEnv, AUTH_HOST: "127.0.0.1", AUTH_PORT: "0" });
  const catalogConfig = readCatalogConfig({ ...serviceEnv, CATALOG_HOST: "127.0.0.1", CATALOG_PORT: "0" });
  const edgeConfigBase = readEdgeConfig(env);

  const dataDir = cfg.SHOPMESH_DATA_DIR === "memory" ? undefined : resolve(cfg.SHOPMESH_DATA_DIR);
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await openDatabase({ kind: "pglite", dataDir }, log);
  // Domain events between the services of this process: outbox → in-process bus → inbox. Held
  // until every service has subscribed: rows left unmarked by a crash go out again at start, and
  // a consumer not yet subscribed would miss them.
  const bus = createInProcessBus({ logger: log.child({ component: "bus" }), held: true });
  const stops: Array<() => Promise<void>> = [() => db.close(), () => bus.close()];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const started = async <T extends { start(): Promise<number>; stop(): Promise<void>; readonly port: number }>(service: T) => {
      await service.start();
      stops.push(() => service.stop());
      return `127.0.0.1:${service.port}`;
    };
    // auth and catalog first: the others are given their addresses.
    const auth = await started(createAuthService({ config: authConfig, db, logger: log, bus }));
    const catalog = await started(createCatalogService({ config: catalogConfig, db, logger: log, bus }));
    const peers = { AUTH_ADDR: auth, CATALOG_ADDR: catalog, AUTH_ISSUER: authConfig.AUTH_ISSUER, AUTH_AUDIENCE: authConfig.AUTH_AUDIENCE };
    const cartConfig = readCartConfig({ ...serviceEnv, ...peers, CART_HOST: "127.0.0.1", CART_PORT: "0" });
    const paymentConfig = readPaymentConfig({ ...serviceEnv, ...peers, PAYMENT_HOST: "127.0.0.1", PAYMENT_PORT: "0" });
    const notificationConfig = readNotificationConfig({ ...serviceEnv, ...peers, NOTIFICATION_HOST: "127.0.0.1", NOTIFICATION_PORT: "0" });
    const cart = await started(createCartService({ config: cartConfig, db, logger: log, bus }));
    const payment = await started(createPaymentService({ config: paymentConfig, db, logger: log, bus }));
    const notification = await started(createNotificationService({ config: notificationConfig, db, logger: log, bus }));
    const orderConfig = readOrderConfig({
      ...serviceEnv,
      ...peers,
      CART_ADDR: cart,
      PAYMENT_ADDR: payment,
      ORDER_HOST: "127.0.0.1",
      ORDER_PORT: "0",
    });
    const order = await started(createOrderService({ config: orderConfig, db, logger: log, bus }));
    const services = { auth, catalog, cart, payment, notification, order };
    bus.release();

    const edgeConfig = readEdgeConfig({
      ...env,
      ...peers,
      EDGE_PORT: String(edgeConfigBase.EDGE_PORT),
      CART_ADDR: cart,
      PAYMENT_ADDR: payment,
      NOTIFICATION_ADDR: notification,
      ORDER_ADDR: order,
    });
    const edge = createEdge({ config: edgeConfig, logger: log.child({ service: "edge" }) });
    const edgePort = await edge.start();
    stops.push(() => edge.stop());
    return { url: edge.url, edgePort, services, bus, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
