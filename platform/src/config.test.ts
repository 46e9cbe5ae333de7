import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  authVars,
  byName,
  ConfigError,
  env,
  kafkaSecurity,
  loadConfig,
  requireDatabaseUrl,
  requireKafkaBrokers,
  serviceVars,
} from "./config.js";
import { kafkaClientSecurity } from "./events/kafka-security.js";

describe("shared service variables", () => {
  const schema = byName({ ...serviceVars("shop", { schema: "shop" }), ...authVars(), SHOP_PORT: env.port({ doc: "port", default: 1 }) });

  it("have defaults for everything but DATABASE_URL, KAFKA_BROKERS and AUTH_ADDR", () => {
    expect(loadConfig(schema, {})).toEqual({
      ADMIN_GC_ENABLED: false,
      AUTH_ADDR: undefined,
      AUTH_AUDIENCE: "shopmesh",
      AUTH_ISSUER: "shopmesh",
      DATABASE_URL: undefined,
      DATABASE_POOL_SIZE: 10,
      DB_SCHEMA: "shop",
      FAULTS_ENABLED: false,
      KAFKA_BROKERS: undefined,
      KAFKA_SSL: false,
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

describe("Kafka security variables", () => {
  const schema = serviceVars("shop", { schema: "shop" });
  const security = (vars: Record<string, string>) => kafkaSecurity(loadConfig(schema, vars));
  /** The ConfigError's message, which names the variables. */
  const refusal = (vars: Record<string, string>) => {
    try {
      security(vars);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    }
    throw new Error("accepted");
  };

  it("are off by default: plaintext, no SASL", () => {
    expect(security({})).toEqual({ ssl: undefined, sasl: undefined });
    expect(kafkaClientSecurity(security({}))).toEqual({});
  });

  it("take TLS and SCRAM-SHA-256/512 with a user and password", () => {
    for (const mechanism of ["scram-sha-256", "scram-sha-512"]) {
      const vars = { KAFKA_SSL: "true", KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: "order", KAFKA_SASL_PASSWORD: "s3cret" };
      expect(kafkaClientSecurity(security(vars))).toEqual({ ssl: true, sasl: { mechanism, username: "order", password: "s3cret" } });
    }
  });

  it("read the CA file for TLS, and name KAFKA_SSL_CA_FILE when it cannot be used", () => {
    const dir = mkdtempSync(join(tmpdir(), "kafka-ca-"));
    const ca = join(dir, "ca.pem");
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    writeFileSync(ca, pem);
    expect(kafkaClientSecurity(security({ KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: ca })).ssl).toEqual({
      ca: [pem],
      rejectUnauthorized: true,
    });
    const notPem = join(dir, "not.pem");
    writeFileSync(notPem, "hello");
    for (const file of [join(dir, "missing.pem"), notPem]) {
      expect(() => kafkaClientSecurity(security({ KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: file }))).toThrow(ConfigError);
      expect(() => kafkaClientSecurity(security({ KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: file }))).toThrow(/KAFKA_SSL_CA_FILE/);
    }
  });

  it("refuse half a setting, naming every variable at fault", () => {
    expect(refusal({ KAFKA_SASL_MECHANISM: "scram-sha-512" })).toMatch(/KAFKA_SASL_USERNAME.*KAFKA_SASL_PASSWORD/);
    expect(refusal({ KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "order" })).toMatch(/KAFKA_SASL_PASSWORD/);
    expect(refusal({ KAFKA_SASL_USERNAME: "order", KAFKA_SASL_PASSWORD: "x" })).toMatch(/KAFKA_SASL_USERNAME.*KAFKA_SASL_PASSWORD/);
    expect(refusal({ KAFKA_SSL_CA_FILE: "/ca.pem" })).toMatch(/KAFKA_SSL_CA_FILE/);
    expect(() => loadConfig(schema, { KAFKA_SASL_MECHANISM: "plain" })).toThrow(/KAFKA_SASL_MECHANISM/);
    expect(() => loadConfig(schema, { KAFKA_SSL: "maybe" })).toThrow(/KAFKA_SSL/);
  });
});
