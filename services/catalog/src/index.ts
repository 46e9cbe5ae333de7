export { type CatalogConfig, catalogConfigSchema, readCatalogConfig, requireDatabaseUrl } from "./config.js";
export { type CatalogServer, type CatalogServiceOptions, createCatalogService } from "./server.js";
export { catalogMigrations } from "./db/migrations/index.js";
export { demoCatalog } from "./db/demo-catalog.js";
export type { Catalog } from "./catalog/catalog.service.js";
