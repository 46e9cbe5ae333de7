import { describe, expect, it } from "vitest";
import { authVars, byName, ConfigError, env, loadConfig, requireDatabaseUrl, requireKafkaBrokers, serviceVars } from "./config.js";

describe("shared service variables", () => {
  const schema = byName({ ...serviceVars("shop", { schema: "shop" }), ...authVars(), SHOP_PORT: env.port({ doc: "port", default: 1 }) });

  it("have defaults for everything but DATABASE_URL, KAFKA_BROKERS and AUTH_ADDR", () => {
    expect(loadConfig(schema, {})).toEqual({
      ADMIN_GC_ENABLED: false,
      AUTH_ADDR: undefined,
      AUTH_AUDIENCE: "shopmesh",
      AUTH_ISSUER: "shopmesh",
      DATABASE_URL: undefined,
      DB_SCHEMA: "shop",
      FAULTS_ENABLED: false,
      KAFKA_BROKERS: undefined,
      LOG_LEVEL: "info",
      METRICS_HOST: "0.0.0.0",
      METRICS_PORT: 9464,
      NODE_ENV: "development",
      OTEL_TRACES_SAMPLER: "parentbased_always_on",
      SHOP_PORT: 1,
      SHOPMESH_MTLS: "on",
      SHUTDOWN_GRACE_MS: 10_000,
    });
  });

  it("lists the variables by name", () => {
    expect(Object.keys(schema)).toEqual([...Object.keys(schema)].sort());
  });

  it("accepts only lowercase schema names not starting with pg_", () => {
    expect(loadConfig(schema, { DB_SCHEMA: "shop_2" }).DB_SCHEMA).toBe("shop_2");
    for (const bad of ["Shop", "shop;drop", "2shop", "pg_shop", "a".repeat(64)]) {
      expect(() => loadConfig(schema, { DB_SCHEMA: bad }), bad).toThrow(/DB_SCHEMA/);
    }
  });

  it("requires DATABASE_URL only when asked, naming the service's database", () => {
    expect(() => requireDatabaseUrl(loadConfig(schema, {}), schema)).toThrow(ConfigError);
    expect(() => requireDatabaseUrl(loadConfig(schema, {}), schema)).toThrow(/DATABASE_URL \(Postgres URL of the shop database/);
    expect(requireDatabaseUrl(loadConfig(schema, { DATABASE_URL: "postgres://db/shop" }), schema)).toBe("postgres://db/shop");
    expect(() => loadConfig(schema, { DATABASE_URL: "mysql://db/shop" })).toThrow(/DATABASE_URL/);
  });

  it("requires KAFKA_BROKERS only when asked, as a list of host:port", () => {
    expect(() => requireKafkaBrokers(loadConfig(schema, {}), schema)).toThrow(ConfigError);
    expect(() => requireKafkaBrokers(loadConfig(schema, {}), schema)).toThrow(/KAFKA_BROKERS \(Kafka bootstrap brokers/);
    expect(requireKafkaBrokers(loadConfig(schema, { KAFKA_BROKERS: "k1:9092, k2:9092," }), schema)).toEqual(["k1:9092", "k2:9092"]);
    for (const bad of [",", "k1", "k1:9092,k2", "k1:x"]) {
      expect(() => loadConfig(schema, { KAFKA_BROKERS: bad }), bad).toThrow(/KAFKA_BROKERS/);
    }
  });
});
