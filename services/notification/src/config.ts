import { authVars, byName, type ConfigOf, env, loadConfig, serviceVars } from "@shopmesh/platform";

/** Environment of the notification service, exported as data for docs and manifests. */
export const notificationConfigSchema = byName({
  ...serviceVars("notification", { schema: "notification" }),
  ...authVars(),
  NOTIFICATION_HOST: env.string({ doc: "Interface the notification gRPC server listens on", default: "0.0.0.0" }),
  NOTIFICATION_PORT: env.port({ doc: "Port of the notification gRPC server (0 picks a free one)", default: 50056 }),
  SMTP_FROM: env.string({ doc: "From header of the emails", default: "shopmesh <no-reply@shopmesh.local>" }),
  SMTP_URL: env.optional(
    env.url({
      doc: "SMTP server emails go out through (smtp:// or smtps://, credentials in the URL); unset: emails are only recorded (CAPTURED)",
      protocols: ["smtp", "smtps"],
    }),
  ),
});

export type NotificationConfig = ConfigOf<typeof notificationConfigSchema>;

/** Reads and validates the notification service's environment; throws a ConfigError naming each bad variable. */
export function readNotificationConfig(source: Record<string, string | undefined> = process.env): NotificationConfig {
  return loadConfig(notificationConfigSchema, source);
}
