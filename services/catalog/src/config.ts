import { ConfigError, type ConfigOf, env, loadConfig } from "@shopmesh/platform";
import { DEFAULT_CACHE_SIZE } from "./catalog/product-cache.js";

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;
const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type LogLevel = (typeof logLevels)[number];

/** Spec types by the `env` builders' return types: the platform does not export `VarSpec`. */
type StringSpec = ReturnType<typeof env.string>;

/**
 * Environment of the catalog service. Exported as data so the README's configuration table and
 * deployment manifests can be checked against it.
 */
export const catalogConfigSchema: {
  readonly CATALOG_CACHE_SIZE: ReturnType<typeof env.int>;
  readonly CATALOG_HOST: StringSpec;
  readonly CATALOG_PORT: ReturnType<typeof env.port>;
  readonly DATABASE_URL: ReturnType<typeof env.optional<string>>;
  readonly DB_SCHEMA: StringSpec;
  readonly LOG_LEVEL: ReturnType<typeof env.oneOf<LogLevel>>;
  readonly SEED_DEMO_CATALOG: ReturnType<typeof env.bool>;
  readonly SHUTDOWN_GRACE_MS: ReturnType<typeof env.int>;
} = {
  CATALOG_CACHE_SIZE: env.int({
    doc: "Most products GetProduct/BatchGetProducts keep in memory, stock kept current from this process's changes (0 = off; set 0 when several replicas share a database)",
    default: DEFAULT_CACHE_SIZE,
    min: 0,
  }),
  CATALOG_HOST: env.string({ doc: "Interface the catalog gRPC server listens on", default: "0.0.0.0" }),
  CATALOG_PORT: env.port({ doc: "Port of the catalog gRPC server (0 picks a free one)", default: 50051 }),
  DATABASE_URL: env.optional(
    env.url({ doc: "Postgres URL of the catalog database (required in distributed mode)", protocols: ["postgres", "postgresql"] }),
  ),
  DB_SCHEMA: {
    ...env.string({ doc: "Database schema holding the catalog tables", default: "catalog" }),
    kind: "identifier",
    parse(raw: string, name: string): string {
      if (!identifier.test(raw) || raw.startsWith("pg_")) {
        throw new ConfigError(`invalid environment variable ${name}: expected a lowercase SQL identifier, got "${raw}"`);
      }
      return raw;
    },
  },
  LOG_LEVEL: env.oneOf(logLevels, { doc: "Minimum level of log lines", default: "info" }),
  SEED_DEMO_CATALOG: env.bool({ doc: "Insert the demo catalog on first start", default: true }),
  SHUTDOWN_GRACE_MS: env.int({ doc: "How long a stop waits for in-flight calls, in ms", default: 10_000, min: 0 }),
};

export type CatalogConfig = ConfigOf<typeof catalogConfigSchema>;

/** Reads and validates the catalog's environment; throws a ConfigError naming each bad variable. */
export function readCatalogConfig(source: Record<string, string | undefined> = process.env): CatalogConfig {
  return loadConfig(catalogConfigSchema, source);
}

/** DATABASE_URL, which distributed mode cannot run without. */
export function requireDatabaseUrl(config: CatalogConfig): string {
  if (config.DATABASE_URL === undefined) {
    throw new ConfigError(`missing required environment variable DATABASE_URL (${catalogConfigSchema.DATABASE_URL.doc})`);
  }
  return config.DATABASE_URL;
}
