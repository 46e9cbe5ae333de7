import {
  authorize,
  authVerifier,
  closeClient,
  createClient,
  createServiceHost,
  type Database,
  type EventBus,
  type Logger,
  serviceRegistration,
  type TokenVerifier,
  meshTlsOf,
} from "@shopmesh/platform";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { type Carts, createCarts } from "./app/use-cases.js";
import { createGrpcProductCatalog } from "./clients/product-catalog.js";
import type { CartConfig } from "./config.js";
import { cartMigrations } from "./db/migrations/index.js";
import type { CartDb } from "./db/tables.js";
import { subscribeOrderPlaced } from "./events/order-placed-consumer.js";
import { cartHandlers } from "./rpc/cart-handlers.js";

export interface CartServiceOptions {
  readonly config: CartConfig;
  /** The process's database; cart uses the schema `config.DB_SCHEMA` in it. The caller closes it. */
  readonly db: Database;
  readonly logger: Logger;
  /** Overrides CART_HOST (embedded mode listens on 127.0.0.1). */
  readonly host?: string;
  /** Overrides CART_PORT (0 picks a free port). */
  readonly port?: number;
  /** Cart consumes OrderPlaced from it (group "cart"); without a bus, carts are emptied by ClearCart only. */
  readonly bus?: EventBus;
  /** Verifies access tokens; default: auth's JWKS from AUTH_ADDR (then required). */
  readonly verifier?: TokenVerifier;
}

export interface CartServer {
  /** Migrates the schema, serves and subscribes to OrderPlaced; resolves to the port. */
  start(): Promise<number>;
  /** Graceful stop: the subscription ends, in-flight calls drain, the server closes. */
  stop(): Promise<void>;
  /** The bound port, once started. */
  readonly port: number;
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly carts: Carts;
}

/** The cart service: its gRPC server (with health and reflection) over its schema of `db`. */
export function createCartService(opts: CartServiceOptions): CartServer {
  const { config } = opts;
  const logger = opts.logger.child({ service: "cart" });
  // Mutual TLS as configured: the server, and every client it opens, speak as "cart".
  const tls = meshTlsOf(config, "cart", logger);
  const schema = config.DB_SCHEMA;
  const db = opts.db.kysely<CartDb>(schema);
  const catalogClient = createClient(CatalogService, config.CATALOG_ADDR, { logger, tls });
  const carts = createCarts({ db, catalog: createGrpcProductCatalog(catalogClient) });
  const auth = authVerifier(config, opts.verifier, logger, tls);
  const host = createServiceHost({
    name: "cart",
    logger,
    faults: config,
    db,
    schema,
    migrations: { ...cartMigrations },
    grpc: {
      tls,
      host: opts.host ?? config.CART_HOST,
      port: opts.port ?? config.CART_PORT,
      services: [serviceRegistration(CartService, cartHandlers(carts))],
      interceptors: [authorize({ service: "cart", verifier: auth.verifier })],
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    },
    bus: opts.bus,
    subscribe: (bus) => [subscribeOrderPlaced(bus, db, carts, logger)],
    onStop: () => {
      closeClient(catalogClient);
      auth.close();
    },
  });
  return {
    carts,
    get port() {
      return host.port;
    },
    start: () => host.start(),
    stop: () => host.stop(),
  };
}
