import { ConfigError, type ConfigOf, env, loadConfig, type VarSpec } from "@shopmesh/platform";

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;
const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type LogLevel = (typeof logLevels)[number];

/** Environment of the payment service, as data (for the README's table and the manifests). */
export const paymentConfigSchema: {
  readonly AUTH_ADDR: VarSpec<string>;
  readonly AUTH_AUDIENCE: VarSpec<string>;
  readonly AUTH_ISSUER: VarSpec<string>;
  readonly DATABASE_URL: VarSpec<string | undefined>;
  readonly DB_SCHEMA: VarSpec<string>;
  readonly LOG_LEVEL: VarSpec<LogLevel>;
  readonly PAYMENT_FAILURE_RATE: VarSpec<number>;
  readonly PAYMENT_HOST: VarSpec<string>;
  readonly PAYMENT_PORT: VarSpec<number>;
  readonly SHUTDOWN_GRACE_MS: VarSpec<number>;
} = {
  AUTH_ADDR: env.address({ doc: "host:port of the auth service, whose GetJwks verifies access tokens", default: "127.0.0.1:50052" }),
  AUTH_AUDIENCE: env.string({ doc: "Expected `aud` claim of access tokens", default: "shopmesh" }),
  AUTH_ISSUER: env.string({ doc: "Expected `iss` claim of access tokens", default: "shopmesh" }),
  DATABASE_URL: env.optional(
    env.url({ doc: "Postgres URL of the payment database (required in distributed mode)", protocols: ["postgres", "postgresql"] }),
  ),
  DB_SCHEMA: {
    ...env.string({ doc: "Database schema holding the payment tables", default: "payment" }),
    kind: "identifier",
    parse(raw: string, name: string): string {
      if (!identifier.test(raw) || raw.startsWith("pg_")) {
        throw new ConfigError(`invalid environment variable ${name}: expected a lowercase SQL identifier, got "${raw}"`);
      }
      return raw;
    },
  },
  LOG_LEVEL: env.oneOf(logLevels, { doc: "Minimum level of log lines", default: "info" }),
  PAYMENT_FAILURE_RATE: {
    kind: "number",
    doc: "Share (0..1) of provider calls of the fake provider that fail transiently, to exercise retries",
    default: 0,
    required: false,
    parse(raw: string, name: string): number {
      const value = Number(raw.trim());
      if (raw.trim() === "" || !Number.isFinite(value) || value < 0 || value > 1) {
        throw new ConfigError(`invalid environment variable ${name}: expected a number from 0 to 1, got "${raw}"`);
      }
      return value;
    },
  },
  PAYMENT_HOST: env.string({ doc: "Interface the payment gRPC server listens on", default: "0.0.0.0" }),
  PAYMENT_PORT: env.port({ doc: "Port of the payment gRPC server (0 picks a free one)", default: 50055 }),
  SHUTDOWN_GRACE_MS: env.int({ doc: "How long a stop waits for in-flight calls, in ms", default: 10_000, min: 0 }),
};

export type PaymentConfig = ConfigOf<typeof paymentConfigSchema>;

/** Reads and validates the payment service's environment; throws a ConfigError naming each bad variable. */
export function readPaymentConfig(source: Record<string, string | undefined> = process.env): PaymentConfig {
  return loadConfig(paymentConfigSchema, source);
}

/** DATABASE_URL, which distributed mode cannot run without. */
export function requireDatabaseUrl(config: PaymentConfig): string {
  if (config.DATABASE_URL === undefined) {
    throw new ConfigError(`missing required environment variable DATABASE_URL (${paymentConfigSchema.DATABASE_URL.doc})`);
  }
  return config.DATABASE_URL;
}
