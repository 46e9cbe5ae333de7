export { type CatalogConfig, catalogConfigSchema, readCatalogConfig } from "./config.js";
export { type CatalogServer, type CatalogServerOptions, createCatalogServer } from "./server.js";
export { catalogMigrations } from "./db/migrations/index.js";
export { demoCatalog } from "./db/demo-catalog.js";
export type { Catalog, StockChange } from "./app/use-cases.js";
export {
  CATALOG_EVENT_TYPES,
  CATALOG_GROUP,
  ORDER_CANCELLED_REASON,
  PAYMENT_FAILED_REASON,
  REFUND_RESTOCK_REASON,
} from "./events/saga-consumer.js";
