import {
  authorize,
  authVerifier,
  closeClient,
  createClient,
  createServiceHost,
  type Database,
  type EventBus,
  type Logger,
  type NotificationListener,
  type ServiceHost,
  serviceRegistration,
  type TokenVerifier,
  meshTlsOf,
} from "@shopmesh/platform";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import type { OrderConfig } from "./config.js";
import { orderMigrations } from "./db/migrations/index.js";
import type { OrderDb } from "./db/tables.js";
import { subscribeSaga } from "./events/saga-consumer.js";
import { createOrders, type Orders } from "./order/order.service.js";
import { createGrpcCheckoutPeers } from "./order/peers.js";
import { listenForStatus, StatusFeed } from "./app/status-feed.js";
import { orderHandlers } from "./rpc/order-handlers.js";

export interface OrderServiceOptions {
  readonly config: OrderConfig;
  /** The process's database; order uses the schema `config.DB_SCHEMA` in it. The caller closes it. */
  readonly db: Database;
  readonly logger: Logger;
  /** Overrides ORDER_HOST (embedded mode listens on 127.0.0.1). */
  readonly host?: string;
  /** Overrides ORDER_PORT (0 picks a free port). */
  readonly port?: number;
  /**
   * The bus of the saga: order consumes StockReserved/StockRejected and PaymentSucceeded/Failed
   * from it (group "order") and its relay publishes OrderPlaced/OrderPaid/OrderCancelled to it.
   * Without a bus, orders stay PENDING and their events stay in the outbox.
   */
  readonly bus?: EventBus;
  /** Verifies access tokens; default: auth's JWKS from AUTH_ADDR (then required). */
  readonly verifier?: TokenVerifier;
}

export interface OrderServer {
  /** Migrates the schema, serves, starts the outbox relay and subscribes to the saga's events; resolves to the port. */
  start(): Promise<number>;
  /** Graceful stop: the subscription ends, streams end, in-flight calls drain, the server closes, the relay stops. */
  stop(): Promise<void>;
  /** The bound port, once started. */
  readonly port: number;
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly orders: Orders;
}

/** The order service: its gRPC server (with health and reflection) over its schema of `db`. */
export function createOrderService(opts: OrderServiceOptions): OrderServer {
  const { config } = opts;
  const logger = opts.logger.child({ service: "order" });
  // Mutual TLS as configured: the server, and every client it opens, speak as "order".
  const tls = meshTlsOf(config, "order", logger);
  const schema = config.DB_SCHEMA;
  const db = opts.db.kysely<OrderDb>(schema);
  const auth = authVerifier(config, opts.verifier, logger, tls);
  const clients = {
    cart: createClient(CartService, config.CART_ADDR, { logger, tls }),
    catalog: createClient(CatalogService, config.CATALOG_ADDR, { logger, tls }),
    payment: createClient(PaymentService, config.PAYMENT_ADDR, { logger, tls }),
  };
  let host: ServiceHost | undefined;
  const feed = new StatusFeed(logger);
  // With DATABASE_URL (distributed mode) replicas may share the database: transitions go to
  // every process's feed through LISTEN/NOTIFY.
  const shared = config.DATABASE_URL !== undefined ? { url: config.DATABASE_URL, channel: `${schema}.order_status` } : undefined;
  const orders = createOrders({
    db,
    logger,
    peers: createGrpcCheckoutPeers(clients),
    feed,
    onEventsWritten: (written) => host?.notifyOutbox(written),
    ...(shared ? { statusChannel: shared.channel } : {}),
  });
  const h = createServiceHost({
    name: "order",
    logger,
    faults: config,
    db,
    schema,
    migrations: { ...orderMigrations },
    grpc: {
      tls,
      host: opts.host ?? config.ORDER_HOST,
      port: opts.port ?? config.ORDER_PORT,
      services: [serviceRegistration(OrderService, orderHandlers(orders))],
      interceptors: [authorize({ service: "order", verifier: auth.verifier })],
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    },
    bus: opts.bus,
    outbox: true,
    subscribe: (bus) => [subscribeSaga(bus, db, orders, logger)],
    onStop: () => {
      for (const client of Object.values(clients)) closeClient(client);
      auth.close();
    },
  });
  host = h;
  let listener: NotificationListener | undefined;
  return {
    orders,
    get port() {
      return h.port;
    },
    async start() {
      // Listening before serving: no transition committed once the service is up goes unheard.
      if (shared && !listener) listener = await listenForStatus({ ...shared, feed, db, logger });
      return h.start();
    },
    async stop() {
      await h.stop();
      await listener?.close();
      listener = undefined;
    },
  };
}
