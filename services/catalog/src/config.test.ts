import { ConfigError, describeConfig, requireDatabaseUrl } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { catalogConfigSchema, readCatalogConfig } from "./config.js";

describe("catalog config", () => {
  it("has defaults for everything but DATABASE_URL", () => {
    const config = readCatalogConfig({});
    expect(config).toEqual({
      ADMIN_GC_ENABLED: false,
      AUTH_ADDR: undefined,
      AUTH_AUDIENCE: "shopmesh",
      AUTH_ISSUER: "shopmesh",
      CATALOG_CACHE_SIZE: 10_000,
      CATALOG_LISTING_CACHE_SIZE: 2_000,
      CATALOG_LISTING_CACHE_MAX_AGE_SECONDS: 10,
      CATALOG_HOST: "0.0.0.0",
      CATALOG_PORT: 50051,
      DATABASE_URL: undefined,
      DATABASE_POOL_SIZE: 10,
      DB_SCHEMA: "catalog",
      FAULTS_ENABLED: false,
      KAFKA_SSL: false,
      LOG_LEVEL: "info",
      METRICS_HOST: "0.0.0.0",
      METRICS_PORT: 9464,
      NODE_ENV: "development",
      OTEL_TRACES_SAMPLER: "parentbased_always_on",
      SEED_DEMO_CATALOG: true,
      SHOPMESH_MTLS: "on",
      SHUTDOWN_GRACE_MS: 10_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("names every malformed variable", () => {
    const read = () =>
      readCatalogConfig({
        CATALOG_CACHE_SIZE: "-1",
        CATALOG_PORT: "70000",
        DB_SCHEMA: "Catalog; drop",
        SEED_DEMO_CATALOG: "maybe",
        DATABASE_URL: "mysql://x",
      });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/CATALOG_CACHE_SIZE/);
    expect(read).toThrow(/CATALOG_PORT/);
    expect(read).toThrow(/DB_SCHEMA/);
    expect(read).toThrow(/SEED_DEMO_CATALOG/);
    expect(read).toThrow(/DATABASE_URL/);
  });

  it("requires DATABASE_URL only when asked (distributed mode)", () => {
    expect(() => requireDatabaseUrl(readCatalogConfig({}), catalogConfigSchema)).toThrow(/DATABASE_URL/);
    expect(requireDatabaseUrl(readCatalogConfig({ DATABASE_URL: "postgres://u@db:5432/catalog" }), catalogConfigSchema)).toBe(
      "postgres://u@db:5432/catalog",
    );
  });

  it("documents every variable", () => {
    const rows = describeConfig(catalogConfigSchema);
    expect(rows.map((r) => r.name)).toEqual(Object.keys(catalogConfigSchema));
    for (const row of rows) expect(row.doc.length).toBeGreaterThan(10);
  });
});
