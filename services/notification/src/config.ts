import { ConfigError, type ConfigOf, env, loadConfig } from "@shopmesh/platform";

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;
const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type LogLevel = (typeof logLevels)[number];

type StringSpec = ReturnType<typeof env.string>;
type IntSpec = ReturnType<typeof env.int>;
type OptionalStringSpec = ReturnType<typeof env.optional<string>>;

/** Environment of the notification service, exported as data for docs and manifests. */
export const notificationConfigSchema: {
  readonly AUTH_ADDR: OptionalStringSpec;
  readonly AUTH_AUDIENCE: StringSpec;
  readonly AUTH_ISSUER: StringSpec;
  readonly DATABASE_URL: OptionalStringSpec;
  readonly DB_SCHEMA: StringSpec;
  readonly LOG_LEVEL: ReturnType<typeof env.oneOf<LogLevel>>;
  readonly NOTIFICATION_HOST: StringSpec;
  readonly NOTIFICATION_PORT: ReturnType<typeof env.port>;
  readonly SHUTDOWN_GRACE_MS: IntSpec;
  readonly SMTP_FROM: StringSpec;
  readonly SMTP_URL: OptionalStringSpec;
} = {
  AUTH_ADDR: env.optional(
    env.address({ doc: "host:port of auth, whose GetJwks verifies access tokens (required unless a verifier is injected)" }),
  ),
  AUTH_AUDIENCE: env.string({ doc: "`aud` required of access tokens", default: "shopmesh" }),
  AUTH_ISSUER: env.string({ doc: "`iss` required of access tokens", default: "shopmesh" }),
  DATABASE_URL: env.optional(
    env.url({ doc: "Postgres URL of the notification database (required in distributed mode)", protocols: ["postgres", "postgresql"] }),
  ),
  DB_SCHEMA: {
    ...env.string({ doc: "Database schema holding the notification tables", default: "notification" }),
    kind: "identifier",
    parse(raw: string, name: string): string {
      if (!identifier.test(raw) || raw.startsWith("pg_")) {
        throw new ConfigError(`invalid environment variable ${name}: expected a lowercase SQL identifier, got "${raw}"`);
      }
      return raw;
    },
  },
  LOG_LEVEL: env.oneOf(logLevels, { doc: "Minimum level of log lines", default: "info" }),
  NOTIFICATION_HOST: env.string({ doc: "Interface the notification gRPC server listens on", default: "0.0.0.0" }),
  NOTIFICATION_PORT: env.port({ doc: "Port of the notification gRPC server (0 picks a free one)", default: 50056 }),
  SHUTDOWN_GRACE_MS: env.int({ doc: "How long a stop waits for in-flight calls, in ms", default: 10_000, min: 0 }),
  SMTP_FROM: env.string({ doc: "From header of the emails", default: "shopmesh <no-reply@shopmesh.local>" }),
  SMTP_URL: env.optional(
    env.url({
      doc: "SMTP server emails go out through (smtp:// or smtps://, credentials in the URL); unset: emails are only recorded (CAPTURED)",
      protocols: ["smtp", "smtps"],
    }),
  ),
};

export type NotificationConfig = ConfigOf<typeof notificationConfigSchema>;

/** Reads and validates the notification service's environment; throws a ConfigError naming each bad variable. */
export function readNotificationConfig(source: Record<string, string | undefined> = process.env): NotificationConfig {
  return loadConfig(notificationConfigSchema, source);
}

/** DATABASE_URL, which distributed mode cannot run without. */
export function requireDatabaseUrl(config: NotificationConfig): string {
  if (config.DATABASE_URL === undefined) {
    throw new ConfigError(`missing required environment variable DATABASE_URL (${notificationConfigSchema.DATABASE_URL.doc})`);
  }
  return config.DATABASE_URL;
}
