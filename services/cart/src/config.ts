import { ConfigError, type ConfigOf, env, loadConfig, type VarSpec } from "@shopmesh/platform";

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;
const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type LogLevel = (typeof logLevels)[number];

/** Environment of the cart service, as data (for the README's table and the manifests). */
export const cartConfigSchema: {
  readonly AUTH_ADDR: VarSpec<string | undefined>;
  readonly AUTH_AUDIENCE: VarSpec<string>;
  readonly AUTH_ISSUER: VarSpec<string>;
  readonly CART_HOST: VarSpec<string>;
  readonly CART_PORT: VarSpec<number>;
  readonly CATALOG_ADDR: VarSpec<string>;
  readonly DATABASE_URL: VarSpec<string | undefined>;
  readonly DB_SCHEMA: VarSpec<string>;
  readonly LOG_LEVEL: VarSpec<LogLevel>;
  readonly SHUTDOWN_GRACE_MS: VarSpec<number>;
} = {
  AUTH_ADDR: env.optional(
    env.address({ doc: "host:port of the auth service, whose GetJwks verifies access tokens (required unless a verifier is injected)" }),
  ),
  AUTH_AUDIENCE: env.string({ doc: "Expected `aud` claim of access tokens", default: "shopmesh" }),
  AUTH_ISSUER: env.string({ doc: "Expected `iss` claim of access tokens", default: "shopmesh" }),
  CART_HOST: env.string({ doc: "Interface the cart gRPC server listens on", default: "0.0.0.0" }),
  CART_PORT: env.port({ doc: "Port of the cart gRPC server (0 picks a free one)", default: 50053 }),
  CATALOG_ADDR: env.address({ doc: "host:port of the catalog service, which names and prices cart lines" }),
  DATABASE_URL: env.optional(
    env.url({ doc: "Postgres URL of the cart database (required in distributed mode)", protocols: ["postgres", "postgresql"] }),
  ),
  DB_SCHEMA: {
    ...env.string({ doc: "Database schema holding the cart tables", default: "cart" }),
    kind: "identifier",
    parse(raw: string, name: string): string {
      if (!identifier.test(raw) || raw.startsWith("pg_")) {
        throw new ConfigError(`invalid environment variable ${name}: expected a lowercase SQL identifier, got "${raw}"`);
      }
      return raw;
    },
  },
  LOG_LEVEL: env.oneOf(logLevels, { doc: "Minimum level of log lines", default: "info" }),
  SHUTDOWN_GRACE_MS: env.int({ doc: "How long a stop waits for in-flight calls, in ms", default: 10_000, min: 0 }),
};

export type CartConfig = ConfigOf<typeof cartConfigSchema>;

/** Reads and validates the cart service's environment; throws a ConfigError naming each bad variable. */
export function readCartConfig(source: Record<string, string | undefined> = process.env): CartConfig {
  return loadConfig(cartConfigSchema, source);
}

/** DATABASE_URL, which distributed mode cannot run without. */
export function requireDatabaseUrl(config: CartConfig): string {
  if (config.DATABASE_URL === undefined) {
    throw new ConfigError(`missing required environment variable DATABASE_URL (${cartConfigSchema.DATABASE_URL.doc})`);
  }
  return config.DATABASE_URL;
}
