import { describe, expect, it } from "vitest";
import { ConfigError, readBenchConfig } from "./bench-config.js";
import { percentiles } from "./checkout.js";
import { verdictOf, webBundleCheck } from "./evaluate.js";
import { vsText } from "./report.js";
import type { Check } from "./results.js";

describe("percentiles", () => {
  it("takes the nearest rank of every sample", () => {
    const p = percentiles(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(p).toMatchObject({ samples: 100, p50: 50, p95: 95, p99: 99, max: 100, mean: 50.5 });
  });

  it("has none without samples", () => {
    expect(percentiles([])).toBeUndefined();
  });
});

describe("verdict", () => {
  const check = (pass: boolean | null): Check => ({ what: "x", actual: "y", pass });

  it("fails on any failed target, and is incomplete while one could not be judged", () => {
    expect(verdictOf([check(true), check(false), check(null)])).toBe("fail");
    expect(verdictOf([check(true), check(null)])).toBe("incomplete");
    expect(verdictOf([check(true)])).toBe("pass");
    expect(verdictOf([])).toBe("incomplete");
  });

  it("judges the storefront's gzipped JavaScript against 250 kB, and not at all when it was not built", () => {
    const size = { cssGzipBytes: 1, jsBytes: 3, files: ["assets/a.js"] };
    expect(webBundleCheck({ ...size, jsGzipBytes: 249_999 }).pass).toBe(true);
    expect(webBundleCheck({ ...size, jsGzipBytes: 250_000 }).pass).toBe(false);
    expect(webBundleCheck({ error: "not built" }).pass).toBeNull();
  });

  it("names the baseline a ratio is taken to", () => {
    expect(vsText(0.4567, "grpc-echo")).toBe("45.7 % of grpc-echo");
    expect(vsText(undefined, "grpc-echo")).toBe("");
  });
});

describe("bench config", () => {
  it("refuses a setting that is not a positive number, naming the variable", () => {
    expect(() => readBenchConfig({ BENCH_RELAY_EVENTS: "0" })).toThrow(ConfigError);
    expect(() => readBenchConfig({ BENCH_RELAY_EVENTS: "0" })).toThrow(/BENCH_RELAY_EVENTS/);
  });

  it("takes KAFKA_BROKERS as a list and POSTGRES_URL before DATABASE_URL", () => {
    const cfg = readBenchConfig({ KAFKA_BROKERS: "a:1, b:2", POSTGRES_URL: "postgres://p", DATABASE_URL: "postgres://d" });
    expect(cfg.kafkaBrokers).toEqual(["a:1", "b:2"]);
    expect(cfg.postgresUrl).toBe("postgres://p");
    expect(readBenchConfig({}).kafkaBrokers).toBeUndefined();
  });
});
