import {
  authorize,
  authVerifier,
  createServiceHost,
  type Database,
  type EventBus,
  type Logger,
  type ServiceHost,
  serviceRegistration,
  type TokenVerifier,
  meshTlsOf,
} from "@shopmesh/platform";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { type Catalog, createCatalog } from "./catalog/catalog.service.js";
import { StockFeed } from "./app/stock-feed.js";
import type { CatalogConfig } from "./config.js";
import { DEMO_CATALOG_SEED, demoCatalog } from "./db/demo-catalog.js";
import { catalogMigrations } from "./db/migrations/index.js";
import type { CatalogDb } from "./db/tables.js";
import { subscribeSaga } from "./events/saga-consumer.js";
import { catalogHandlers } from "./rpc/catalog-handlers.js";

export interface CatalogServiceOptions {
  readonly config: CatalogConfig;
  /** The process's database; the catalog uses the schema `config.DB_SCHEMA` in it. The caller closes it. */
  readonly db: Database;
  readonly logger: Logger;
  /** Overrides CATALOG_HOST (embedded mode listens on 127.0.0.1). */
  readonly host?: string;
  /** Overrides CATALOG_PORT (0 picks a free port). */
  readonly port?: number;
  /**
   * Where the outbox relay publishes the catalog's events (StockReserved, StockRejected,
   * StockReleased), and where the catalog consumes OrderPlaced, OrderCancelled and
   * PaymentFailed (group "catalog"). Without a bus the events stay in the outbox until a
   * relay with one runs, and nothing is consumed.
   */
  readonly bus?: EventBus;
  /** Verifies access tokens (operators' calls); default: auth's JWKS from AUTH_ADDR (then required). */
  readonly verifier?: TokenVerifier;
}

export interface CatalogServer {
  /**
   * Migrates the schema, seeds the demo catalog on first start (when enabled), serves, then
   * consumes the checkout saga's events from the bus; resolves to the port.
   */
  start(): Promise<number>;
  /** Graceful stop: NOT_SERVING, streams end with UNAVAILABLE, in-flight calls drain, the server closes. */
  stop(): Promise<void>;
  /** The bound port, once started. */
  readonly port: number;
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly catalog: Catalog;
}

/** The catalog service: its gRPC server (with health and reflection) over its schema of `db`. */
export function createCatalogService(opts: CatalogServiceOptions): CatalogServer {
  const { config } = opts;
  const logger = opts.logger.child({ service: "catalog" });
  // Mutual TLS as configured: the server, and every client it opens, speak as "catalog".
  const tls = meshTlsOf(config, "catalog", logger);
  const schema = config.DB_SCHEMA;
  const db = opts.db.kysely<CatalogDb>(schema);
  const auth = authVerifier(config, opts.verifier, logger, tls);
  let host: ServiceHost | undefined;
  const catalog = createCatalog({
    db,
    logger,
    feed: new StockFeed(logger),
    cacheSize: config.CATALOG_CACHE_SIZE,
    onEventsWritten: (written) => host?.notifyOutbox(written),
  });
  const h = createServiceHost({
    name: "catalog",
    logger,
    faults: config,
    db,
    schema,
    migrations: { ...catalogMigrations },
    grpc: {
      tls,
      host: opts.host ?? config.CATALOG_HOST,
      port: opts.port ?? config.CATALOG_PORT,
      services: [serviceRegistration(CatalogService, catalogHandlers(catalog))],
      interceptors: [authorize({ service: "catalog", verifier: auth.verifier })],
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    },
    bus: opts.bus,
    outbox: true,
    subscribe: (bus) => [subscribeSaga(bus, db, catalog, logger)],
    beforeServe: async () => {
      if (config.SEED_DEMO_CATALOG && (await catalog.seedOnce(DEMO_CATALOG_SEED, demoCatalog))) {
        logger.info({ products: demoCatalog.length }, "demo catalog seeded");
      }
    },
    onStop: () => auth.close(),
  });
  host = h;
  return {
    catalog,
    get port() {
      return h.port;
    },
    start: () => h.start(),
    stop: () => h.stop(),
  };
}
