import { defineService, type ServiceContext, type ServiceOptions, type ServiceServer, serviceRegistration } from "@shopmesh/platform";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { StockFeed } from "./app/stock-feed.js";
import { type Catalog, createCatalog } from "./app/use-cases.js";
import type { CatalogConfig } from "./config.js";
import { DEMO_CATALOG_SEED, demoCatalog } from "./db/demo-catalog.js";
import { catalogMigrations } from "./db/migrations/index.js";
import type { CatalogDb } from "./db/tables.js";
import { subscribeSaga } from "./events/saga-consumer.js";
import { catalogHandlers } from "./rpc/catalog-handlers.js";

/**
 * The catalog's relay publishes StockReserved, StockRejected, StockReleased and ProductPriceChanged to the bus, and it
 * consumes OrderPlaced, OrderCancelled and PaymentFailed from it (group "catalog").
 */
export type CatalogServerOptions = ServiceOptions<CatalogConfig>;

export interface CatalogServer extends ServiceServer {
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly catalog: Catalog;
}

/** The catalog service: its gRPC server over its schema of `db`, seeding the demo catalog on first start when enabled. */
export const createCatalogServer: (opts: CatalogServerOptions) => CatalogServer = defineService({
  name: "catalog",
  migrations: catalogMigrations,
  outbox: true,
  listen: (config: CatalogConfig) => ({ host: config.CATALOG_HOST, port: config.CATALOG_PORT }),
  create({ config, db, logger, notifyOutbox, authVerifier }: ServiceContext<CatalogConfig, CatalogDb>) {
    const catalog = createCatalog({
      db,
      logger,
      feed: new StockFeed(logger),
      cacheSize: config.CATALOG_CACHE_SIZE,
      listingCacheSize: config.CATALOG_LISTING_CACHE_SIZE,
      listingMaxAgeSeconds: config.CATALOG_LISTING_CACHE_MAX_AGE_SECONDS,
      onEventsWritten: notifyOutbox,
    });
    return {
      expose: { catalog },
      rpc: serviceRegistration(CatalogService, catalogHandlers(catalog)),
      // Operators' calls.
      verifier: authVerifier(config),
      beforeServe: async () => {
        if (config.SEED_DEMO_CATALOG && (await catalog.seedOnce(DEMO_CATALOG_SEED, demoCatalog))) {
          logger.info({ products: demoCatalog.length }, "demo catalog seeded");
        }
      },
      subscribe: (bus) => [subscribeSaga(bus, db, catalog, logger)],
    };
  },
});
