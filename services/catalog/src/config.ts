import { authVars, type ConfigOf, byName, env, loadConfig, serviceVars } from "@shopmesh/platform";
import { DEFAULT_LISTING_CACHE_SIZE, DEFAULT_LISTING_MAX_AGE_SECONDS } from "./app/use-cases.js";
import { DEFAULT_CACHE_SIZE } from "./app/product-cache.js";

/**
 * Environment of the catalog service. Exported as data so the configuration table (docs/configuration.md) and
 * deployment manifests can be checked against it.
 */
export const catalogConfigSchema = byName({
  ...serviceVars("catalog", { schema: "catalog" }),
  ...authVars(),
  CATALOG_CACHE_SIZE: env.int({
    doc: "Most products GetProduct/BatchGetProducts keep in memory, stock kept current from this process's changes (0 = off; set 0 when several replicas share a database)",
    default: DEFAULT_CACHE_SIZE,
    min: 0,
  }),
  CATALOG_LISTING_CACHE_SIZE: env.int({
    doc: "Most ListProducts answers (searches, category pages: the ids on the page) kept in memory, dropped on every product change (0 = off)",
    default: DEFAULT_LISTING_CACHE_SIZE,
    min: 0,
  }),
  CATALOG_LISTING_CACHE_MAX_AGE_SECONDS: env.int({
    doc: "Seconds after which a kept ListProducts answer is read again in the background, still answered meanwhile (waited for past twice this age): how late another replica's product change or a bulk load shows in listings",
    default: DEFAULT_LISTING_MAX_AGE_SECONDS,
    min: 1,
  }),
  CATALOG_HOST: env.string({ doc: "Interface the catalog gRPC server listens on", default: "0.0.0.0" }),
  CATALOG_PORT: env.port({ doc: "Port of the catalog gRPC server (0 picks a free one)", default: 50051 }),
  SEED_DEMO_CATALOG: env.bool({ doc: "Insert the demo catalog on first start", default: true }),
});

export type CatalogConfig = ConfigOf<typeof catalogConfigSchema>;

/** Reads and validates the catalog's environment; throws a ConfigError naming each bad variable. */
export function readCatalogConfig(source: Record<string, string | undefined> = process.env): CatalogConfig {
  return loadConfig(catalogConfigSchema, source);
}
