import { ConfigError, type ConfigOf, env, loadConfig, type VarSpec } from "@shopmesh/platform";

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;
const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type LogLevel = (typeof logLevels)[number];

/** Environment of the order service, as data (for the README's table and the manifests). */
export const orderConfigSchema: {
  readonly AUTH_ADDR: VarSpec<string | undefined>;
  readonly AUTH_AUDIENCE: VarSpec<string>;
  readonly AUTH_ISSUER: VarSpec<string>;
  readonly CART_ADDR: VarSpec<string>;
  readonly CATALOG_ADDR: VarSpec<string>;
  readonly DATABASE_URL: VarSpec<string | undefined>;
  readonly DB_SCHEMA: VarSpec<string>;
  readonly LOG_LEVEL: VarSpec<LogLevel>;
  readonly ORDER_HOST: VarSpec<string>;
  readonly ORDER_PORT: VarSpec<number>;
  readonly PAYMENT_ADDR: VarSpec<string>;
  readonly SHUTDOWN_GRACE_MS: VarSpec<number>;
} = {
  AUTH_ADDR: env.optional(
    env.address({ doc: "host:port of the auth service, whose GetJwks verifies access tokens (required unless a verifier is injected)" }),
  ),
  AUTH_AUDIENCE: env.string({ doc: "Expected `aud` claim of access tokens", default: "shopmesh" }),
  AUTH_ISSUER: env.string({ doc: "Expected `iss` claim of access tokens", default: "shopmesh" }),
  CART_ADDR: env.address({ doc: "host:port of the cart service, whose GetUserCart says what an order contains" }),
  CATALOG_ADDR: env.address({ doc: "host:port of the catalog service, which prices the lines of a new order" }),
  DATABASE_URL: env.optional(
    env.url({ doc: "Postgres URL of the order database (required in distributed mode)", protocols: ["postgres", "postgresql"] }),
  ),
  DB_SCHEMA: {
    // Not "order": that is an SQL keyword.
    ...env.string({ doc: "Database schema holding the order tables", default: "orders" }),
    kind: "identifier",
    parse(raw: string, name: string): string {
      if (!identifier.test(raw) || raw.startsWith("pg_")) {
        throw new ConfigError(`invalid environment variable ${name}: expected a lowercase SQL identifier, got "${raw}"`);
      }
      return raw;
    },
  },
  LOG_LEVEL: env.oneOf(logLevels, { doc: "Minimum level of log lines", default: "info" }),
  ORDER_HOST: env.string({ doc: "Interface the order gRPC server listens on", default: "0.0.0.0" }),
  ORDER_PORT: env.port({ doc: "Port of the order gRPC server (0 picks a free one)", default: 50054 }),
  PAYMENT_ADDR: env.address({ doc: "host:port of the payment service, whose TokenizeCard turns a card number into a token" }),
  SHUTDOWN_GRACE_MS: env.int({ doc: "How long a stop waits for in-flight calls, in ms", default: 10_000, min: 0 }),
};

export type OrderConfig = ConfigOf<typeof orderConfigSchema>;

/** Reads and validates the order service's environment; throws a ConfigError naming each bad variable. */
export function readOrderConfig(source: Record<string, string | undefined> = process.env): OrderConfig {
  return loadConfig(orderConfigSchema, source);
}

/** DATABASE_URL, which distributed mode cannot run without. */
export function requireDatabaseUrl(config: OrderConfig): string {
  if (config.DATABASE_URL === undefined) {
    throw new ConfigError(`missing required environment variable DATABASE_URL (${orderConfigSchema.DATABASE_URL.doc})`);
  }
  return config.DATABASE_URL;
}
