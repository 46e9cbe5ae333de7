import {
  defineService,
  type NotificationListener,
  type ServiceContext,
  type ServiceOptions,
  type ServiceServer,
  serviceRegistration,
} from "@shopmesh/platform";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { listenForStatus, StatusFeed } from "./app/status-feed.js";
import type { OrderConfig } from "./config.js";
import { orderMigrations } from "./db/migrations/index.js";
import type { OrderDb } from "./db/tables.js";
import { subscribeSaga } from "./events/saga-consumer.js";
import { createOrders, type Orders } from "./app/use-cases.js";
import { createGrpcCheckoutPeers } from "./clients/peers.js";
import { orderHandlers } from "./rpc/order-handlers.js";

/**
 * The bus of the saga: order consumes StockReserved/StockRejected and PaymentSucceeded/Failed from
 * it (group "order") and its relay publishes OrderPlaced/OrderPaid/OrderCancelled to it. Without a
 * bus, orders stay PENDING.
 */
export type OrderServerOptions = ServiceOptions<OrderConfig>;

export interface OrderServer extends ServiceServer {
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly orders: Orders;
}

/** The order service: its gRPC server over its schema of `db`, checking out through cart, catalog and payment. */
export const createOrderServer: (opts: OrderServerOptions) => OrderServer = defineService({
  name: "order",
  migrations: orderMigrations,
  outbox: true,
  listen: (config: OrderConfig) => ({ host: config.ORDER_HOST, port: config.ORDER_PORT }),
  create({ config, schema, db, logger, notifyOutbox, client, authVerifier }: ServiceContext<OrderConfig, OrderDb>) {
    const verifier = authVerifier(config);
    const peers = createGrpcCheckoutPeers({
      cart: client(CartService, config.CART_ADDR),
      catalog: client(CatalogService, config.CATALOG_ADDR),
      payment: client(PaymentService, config.PAYMENT_ADDR),
    });
    const feed = new StatusFeed(logger);
    // With DATABASE_URL (distributed mode) replicas may share the database: transitions go to
    // every process's feed through LISTEN/NOTIFY.
    const shared = config.DATABASE_URL !== undefined ? { url: config.DATABASE_URL, channel: `${schema}.order_status` } : undefined;
    const orders = createOrders({
      db,
      logger,
      peers,
      feed,
      onEventsWritten: notifyOutbox,
      ...(shared ? { statusChannel: shared.channel } : {}),
    });
    let listener: NotificationListener | undefined;
    return {
      expose: { orders },
      rpc: serviceRegistration(OrderService, orderHandlers(orders)),
      verifier,
      // Listening before serving: no transition committed once the service is up goes unheard.
      beforeServe: async () => {
        if (shared) listener = await listenForStatus({ ...shared, feed, db, logger });
      },
      subscribe: (bus) => [subscribeSaga(bus, db, orders, logger)],
      onStop: () => listener?.close(),
    };
  },
});
