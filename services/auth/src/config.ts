import { ConfigError, type ConfigOf, env, loadConfig } from "@shopmesh/platform";

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;
const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type LogLevel = (typeof logLevels)[number];

/** Spec types by the `env` builders' return types: the platform does not export `VarSpec`. */
type StringSpec = ReturnType<typeof env.string>;
type IntSpec = ReturnType<typeof env.int>;

/**
 * Environment of the auth service. Exported as data so the README's configuration table and
 * deployment manifests can be checked against it.
 */
export const authConfigSchema: {
  readonly AUTH_ACCESS_TTL_S: IntSpec;
  readonly AUTH_AUDIENCE: StringSpec;
  readonly AUTH_HOST: StringSpec;
  readonly AUTH_ISSUER: StringSpec;
  readonly AUTH_PORT: ReturnType<typeof env.port>;
  readonly AUTH_REFRESH_TTL_S: IntSpec;
  readonly AUTH_SCRYPT_LOG2_N: IntSpec;
  readonly DATABASE_URL: ReturnType<typeof env.optional<string>>;
  readonly DB_SCHEMA: StringSpec;
  readonly LOG_LEVEL: ReturnType<typeof env.oneOf<LogLevel>>;
  readonly SHUTDOWN_GRACE_MS: IntSpec;
} = {
  AUTH_ACCESS_TTL_S: env.int({ doc: "Lifetime of access tokens in seconds", default: 900, min: 30, max: 86_400 }),
  AUTH_AUDIENCE: env.string({ doc: "`aud` claim of access tokens, checked by every verifier", default: "shopmesh" }),
  AUTH_HOST: env.string({ doc: "Interface the auth gRPC server listens on", default: "0.0.0.0" }),
  AUTH_ISSUER: env.string({ doc: "`iss` claim of access tokens, checked by every verifier", default: "shopmesh" }),
  AUTH_PORT: env.port({ doc: "Port of the auth gRPC server (0 picks a free one)", default: 50052 }),
  AUTH_REFRESH_TTL_S: env.int({
    doc: "Lifetime of a refresh token in seconds (each Refresh issues a new one)",
    default: 30 * 86_400,
    min: 60,
  }),
  AUTH_SCRYPT_LOG2_N: env.int({
    doc: "scrypt cost of new password hashes as log2(N), with r=8, p=1 (15 = 32 MiB per hash); existing hashes keep theirs",
    default: 15,
    min: 10,
    max: 20,
  }),
  DATABASE_URL: env.optional(
    env.url({ doc: "Postgres URL of the auth database (required in distributed mode)", protocols: ["postgres", "postgresql"] }),
  ),
  DB_SCHEMA: {
    ...env.string({ doc: "Database schema holding the auth tables", default: "auth" }),
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

export type AuthConfig = ConfigOf<typeof authConfigSchema>;

/** Reads and validates the auth service's environment; throws a ConfigError naming each bad variable. */
export function readAuthConfig(source: Record<string, string | undefined> = process.env): AuthConfig {
  return loadConfig(authConfigSchema, source);
}

/** DATABASE_URL, which distributed mode cannot run without. */
export function requireDatabaseUrl(config: AuthConfig): string {
  if (config.DATABASE_URL === undefined) {
    throw new ConfigError(`missing required environment variable DATABASE_URL (${authConfigSchema.DATABASE_URL.doc})`);
  }
  return config.DATABASE_URL;
}
