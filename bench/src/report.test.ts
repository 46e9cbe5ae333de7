import { describe, expect, it } from "vitest";
import { ConfigError, readBenchConfig } from "./bench-config.js";
import { percentiles } from "./checkout.js";
import { evaluate, verdictOf, webBundleCheck } from "./evaluate.js";
import { vsText } from "./report.js";
import { type Check, type ScenarioResult, STARTUP_TARGET } from "./results.js";
import { select } from "./selection.js";

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

describe("the scale phase", () => {
  it("runs with BENCH_ONLY=scale, the demo catalog's checkout with it", () => {
    const names = select(new Set(["scale"])).scenarios.map((s) => s.name);
    expect(names).toEqual([
      "checkout",
      "scale-search",
      "scale-search-paced",
      "scale-list-category",
      "scale-list-category-paced",
      "scale-order-history",
      "scale-order-history-paced",
      "scale-order-history-deep",
      "scale-order-history-deep-paced",
      "scale-checkout",
    ]);
  });

  it("judges a seeded read by its p99 alone, and the seeded mesh's memory against the budget", () => {
    const load = { connections: 50, durationS: 10, requests: 100, requestsPerSecond: 10, errors: 0, timeouts: 0, non2xx: 0 };
    const read = (p99: number): ScenarioResult => ({
      kind: "load",
      name: "scale-search",
      title: "search",
      system: "mesh-scale",
      baseline: "scale-search",
      target: { maxP99Ms: 50 },
      load: { ...load, latencyMs: { p50: 1, p90: 1, p99, max: p99, mean: 1 }, statusCodes: {}, throughputBytesPerSecond: 1 },
    });
    const startup = { target: STARTUP_TARGET };
    expect(evaluate([read(49)], startup, false).map((c) => c.pass)).toEqual([true]);
    expect(evaluate([read(51)], startup, false).map((c) => c.pass)).toEqual([false]);
    const sample = { rssBytes: 300e6, hwmBytes: 300e6, treePssBytes: 500 * 1024 * 1024 };
    const [memory] = evaluate([], startup, false, undefined, { sample, products: 100_000 });
    expect(memory).toMatchObject({ pass: false });
    expect(memory?.what).toContain("100000 products");
  });
});
