import { ConfigError, requireDatabaseUrl } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { notificationConfigSchema, readNotificationConfig } from "./config.js";

describe("notification config", () => {
  it("has defaults for everything but DATABASE_URL, AUTH_ADDR and SMTP_URL", () => {
    const config = readNotificationConfig({});
    expect(config).toMatchObject({
      NOTIFICATION_HOST: "0.0.0.0",
      NOTIFICATION_PORT: 50056,
      DB_SCHEMA: "notification",
      SMTP_FROM: "shopmesh <no-reply@shopmesh.local>",
      AUTH_ISSUER: "shopmesh",
      AUTH_AUDIENCE: "shopmesh",
      LOG_LEVEL: "info",
      SHUTDOWN_GRACE_MS: 10_000,
    });
    expect(config.SMTP_URL).toBeUndefined();
    expect(config.AUTH_ADDR).toBeUndefined();
    expect(() => requireDatabaseUrl(config, notificationConfigSchema)).toThrow(/DATABASE_URL/);
  });

  it("names the bad variable", () => {
    expect(() => readNotificationConfig({ SMTP_URL: "http://mail" })).toThrow(/SMTP_URL/);
    expect(() => readNotificationConfig({ NOTIFICATION_PORT: "70000" })).toThrow(/NOTIFICATION_PORT/);
    expect(() => readNotificationConfig({ DB_SCHEMA: "Bad-Schema" })).toThrow(ConfigError);
    expect(() => readNotificationConfig({ AUTH_ADDR: "auth" })).toThrow(/AUTH_ADDR/);
  });

  it("reads SMTP and auth settings", () => {
    const config = readNotificationConfig({ SMTP_URL: "smtp://user:pw@mail:25", AUTH_ADDR: "auth:50052" });
    expect(config.SMTP_URL).toBe("smtp://user:pw@mail:25");
    expect(config.AUTH_ADDR).toBe("auth:50052");
  });
});
