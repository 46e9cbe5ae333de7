import { requireDatabaseUrl } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { orderConfigSchema, readOrderConfig } from "./config.js";

const peers = { CART_ADDR: "cart:50053", CATALOG_ADDR: "catalog:50051", PAYMENT_ADDR: "payment:50055" };

describe("order config", () => {
  it("has defaults, requires the peer addresses and validates DB_SCHEMA", () => {
    const config = readOrderConfig(peers);
    expect(config).toMatchObject({
      ORDER_HOST: "0.0.0.0",
      ORDER_PORT: 50054,
      DB_SCHEMA: "orders",
      AUTH_ISSUER: "shopmesh",
      AUTH_AUDIENCE: "shopmesh",
      LOG_LEVEL: "info",
      SHUTDOWN_GRACE_MS: 10_000,
    });
    for (const name of Object.keys(peers)) {
      expect(() => readOrderConfig({ ...peers, [name]: undefined })).toThrow(new RegExp(name));
    }
    expect(() => readOrderConfig({ ...peers, PAYMENT_ADDR: "payment" })).toThrow(/PAYMENT_ADDR/);
    expect(() => readOrderConfig({ ...peers, DB_SCHEMA: "Order;drop" })).toThrow(/DB_SCHEMA/);
    expect(() => readOrderConfig({ ...peers, ORDER_PORT: "70000" })).toThrow(/ORDER_PORT/);
  });

  it("AUTH_ADDR and DATABASE_URL are optional until needed", () => {
    const config = readOrderConfig(peers);
    expect(config.AUTH_ADDR).toBeUndefined();
    expect(() => requireDatabaseUrl(config, orderConfigSchema)).toThrow(/DATABASE_URL/);
    const full = readOrderConfig({ ...peers, AUTH_ADDR: "auth:50052", DATABASE_URL: "postgres://db/orders" });
    expect(full.AUTH_ADDR).toBe("auth:50052");
    expect(requireDatabaseUrl(full, orderConfigSchema)).toBe("postgres://db/orders");
  });
});
