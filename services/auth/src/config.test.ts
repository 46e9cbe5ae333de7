import { requireDatabaseUrl } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { authConfigSchema, readAuthConfig } from "./config.js";

describe("auth config", () => {
  it("has defaults for everything but DATABASE_URL", () => {
    const config = readAuthConfig({});
    expect(config).toMatchObject({
      AUTH_HOST: "0.0.0.0",
      AUTH_PORT: 50052,
      DB_SCHEMA: "auth",
      AUTH_ISSUER: "shopmesh",
      AUTH_AUDIENCE: "shopmesh",
      AUTH_ACCESS_TTL_S: 900,
      AUTH_SCRYPT_LOG2_N: 15,
      LOG_LEVEL: "info",
    });
    expect(() => requireDatabaseUrl(config, authConfigSchema)).toThrow(/DATABASE_URL/);
  });

  it("names each bad variable", () => {
    const bad = () => readAuthConfig({ AUTH_PORT: "x", DB_SCHEMA: "Bad-Name", AUTH_SCRYPT_LOG2_N: "4" });
    for (const name of ["AUTH_PORT", "DB_SCHEMA", "AUTH_SCRYPT_LOG2_N"]) expect(bad, name).toThrow(name);
  });

  it("refuses a publish-ahead period as long as the rotation interval", () => {
    expect(() => readAuthConfig({ AUTH_KEY_ROTATION_S: "600", AUTH_KEY_PUBLISH_AHEAD_S: "600" })).toThrow("AUTH_KEY_PUBLISH_AHEAD_S");
    expect(readAuthConfig({ AUTH_KEY_ROTATION_S: "0", AUTH_KEY_PUBLISH_AHEAD_S: "600" }).AUTH_KEY_ROTATION_S).toBe(0);
  });
});
