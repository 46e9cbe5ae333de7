import { describe, expect, it } from "vitest";
import { readCartConfig } from "./config.js";

describe("cart config", () => {
  it("has defaults, requires CATALOG_ADDR and validates DB_SCHEMA", () => {
    const config = readCartConfig({ CATALOG_ADDR: "catalog:50051" });
    expect(config).toMatchObject({ CART_PORT: 50053, DB_SCHEMA: "cart", AUTH_ISSUER: "shopmesh", AUTH_AUDIENCE: "shopmesh" });
    expect(() => readCartConfig({})).toThrow(/CATALOG_ADDR/);
    expect(() => readCartConfig({ CATALOG_ADDR: "catalog:50051", DB_SCHEMA: "Cart;drop" })).toThrow(/DB_SCHEMA/);
    expect(readCartConfig({ CATALOG_ADDR: "catalog:50051", AUTH_ADDR: "auth:50052" }).AUTH_ADDR).toBe("auth:50052");
  });
});
