// `npm run bench`: measures the embedded mesh against a bare baseline in the same run.
//
//   1. baseline  — bench/dist/baseline-server.js in a child process, loaded over HTTP
//   2. mesh      — `node launcher/dist/embedded.js`: a first start on an empty data dir, a warm
//                  start reusing it (ready time, RSS), then the mesh scenarios on the warm one,
//                  the checkout scenario (concurrent shoppers, checkout → paid) last
//   3. distributed — on Postgres and a Kafka-protocol broker (KAFKA_BROKERS, or the mock broker
//                  of scripts/kafka-test-broker.py started for the run): the outbox relay next
//                  to a bare kafkajs producer; bare kafkajs round trips; then
//                  `launcher`'s startDistributed for the distributed checkout scenarios.
//                  Skipped (reported as such) when Postgres or the broker cannot be had.
//   4. a table, target PASS/FAIL lines, and JSON under bench/results/
//
// Exits 0 whether or not targets are met; non-zero only when the harness itself could not
// measure (a start failed, a probe failed, errors or non-2xx answers under load).
//
// Env: see bench-config.ts and bench/README.md.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger, type Logger } from "@shopmesh/platform";
import { startBaseline } from "./baseline.js";
import { type BenchConfig, ConfigError, readBenchConfig } from "./bench-config.js";
import {
  CHECKOUT_FINAL_TIMEOUT_MS,
  CHECKOUT_WARMUP_PER_SHOPPER,
  type CheckoutFigures,
  type PaidCheckout,
  round2,
  runCheckout,
} from "./checkout.js";
import { installExitHandlers, killAllChildren } from "./children.js";
import { type BenchDistributedMesh, probePostgres, redactUrl, startDistributedMesh } from "./distributed.js";
import { type RoundTripFigures, measureRoundTrips, probeBroker } from "./kafka-bare.js";
import { type BenchBroker, startBroker } from "./kafka-broker.js";
import { defaultWebAppDir, measureWebBundle } from "@shopmesh/edge";
import { runCallLoad } from "./call-load.js";
import { runLoad } from "./load.js";
import { startMesh } from "./mesh.js";
import { type MemorySample, readTreeCpu, toMB } from "./proc-status.js";
import { runRelay } from "./relay.js";
import { openSqlCounter, type SqlCounter } from "./sql-counts.js";
import { startTelemetrySink, type TelemetryFigures } from "./telemetry-sink.js";
import { observeSaga, type SagaStages } from "./saga-stages.js";
import {
  type BenchResults,
  broken,
  evaluate,
  formatReport,
  loadText,
  type RelayResult,
  type SagaResult,
  STARTUP_TARGET,
  type ScenarioResult,
  type StartResult,
  type WebBundleResult,
  webBundleCheck,
  verdictOf,
  writeResults,
} from "./report.js";
import {
  type CheckoutScenario,
  firstProductId,
  type LoadScenario,
  type RelayScenario,
  type SagaScenario,
  SCENARIOS,
  type Scenario,
  type ScenarioContext,
  type SystemName,
} from "./scenarios.js";
import type { RunningSystem } from "./system.js";

const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO_ROOT = resolve(BENCH_DIR, "..");
const RESULTS_DIR = join(BENCH_DIR, "results");

/** How often the telemetry scenarios scrape /metrics (Prometheus' default is 15 s: this is harsher). */
const SCRAPE_INTERVAL_MS = 1_000;

const log = (msg: string) => console.log(`[bench] ${msg}`);

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function gitCommit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

interface Selection {
  readonly scenarios: readonly Scenario[];
  readonly startup: boolean;
  readonly webBundle: boolean;
}

/** BENCH_ONLY names a scenario, a system's scenarios, `telemetry`, `startup` or `web-bundle`. */
function select(only: ReadonlySet<string> | undefined): Selection {
  if (!only) return { scenarios: SCENARIOS, startup: true, webBundle: true };
  const known = new Set<string>([
    "startup",
    "web-bundle",
    "telemetry",
    ...new Set(SCENARIOS.map((s) => s.system)),
    ...SCENARIOS.map((s) => s.name),
  ]);
  const unknown = [...only].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ConfigError(`BENCH_ONLY: unknown name(s) ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
  }
  const names = new Set(
    SCENARIOS.filter((s) => only.has(s.name) || only.has(s.system) || (only.has("telemetry") && s.system === "mesh-telemetry")).map(
      (s) => s.name,
    ),
  );
  // A figure comes with its baseline from the same run.
  for (let before = 0; before !== names.size; ) {
    before = names.size;
    for (const s of SCENARIOS) {
      if (names.has(s.name) && (s.kind === "load" || s.kind === "checkout")) {
        names.add(s.baseline ?? (s.kind === "load" ? "baseline" : s.name));
      }
    }
  }
  return {
    scenarios: SCENARIOS.filter((s) => names.has(s.name)),
    startup: only.has("startup") || only.has("mesh"),
    webBundle: only.has("web-bundle"),
  };
}

async function runLoadScenario(scenario: LoadScenario, ctx: ScenarioContext, cfg: BenchConfig): Promise<ScenarioResult> {
  const base = {
    kind: "load",
    name: scenario.name,
    title: scenario.title,
    system: scenario.system,
    baseline: scenario.baseline ?? "baseline",
    ...(scenario.target ? { target: scenario.target } : {}),
  } as const;
  try {
    const request = await scenario.prepare(ctx);
    if ("call" in request) {
      log(`${scenario.name}: ${request.method} ${request.path} — warm-up ${cfg.warmupS} s, measuring ${cfg.durationS} s`);
      try {
        const { firstError, ...load } = await runCallLoad(request, cfg);
        log(`${scenario.name}: ${load.requestsPerSecond} calls/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms`);
        if (firstError) log(`${scenario.name}: ${load.errors} failed calls, e.g. ${firstError}`);
        return { ...base, request: { method: request.method, path: request.path }, load };
      } finally {
        request.close();
      }
    }
    log(`${scenario.name}: ${request.method} ${request.url} — warm-up ${cfg.warmupS} s, measuring ${cfg.durationS} s`);
    const load = await runLoad(request, cfg);
    log(`${scenario.name}: ${load.requestsPerSecond} req/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms`);
    return { ...base, request: { method: request.method, path: new URL(request.url).pathname }, load };
  } catch (err) {
    log(`${scenario.name}: failed: ${errorText(err)}`);
    return { ...base, error: errorText(err) };
  }
}

/** Shoppers checking out on the edge at `url`: the figures, or why there are none. */
async function measureCheckouts(
  name: string,
  url: string,
  shoppers: number,
  checkoutsPerShopper: number,
  onPaid?: (paid: PaidCheckout) => void,
  system?: RunningSystem,
): Promise<{ checkout?: CheckoutFigures; error?: string }> {
  let sql: SqlCounter | undefined;
  try {
    log(`${name}: ${shoppers} shopper(s) × (${CHECKOUT_WARMUP_PER_SHOPPER} warm-up + ${checkoutsPerShopper} measured) checkouts`);
    if (system?.postgresUrl) sql = await openSqlCounter(system.postgresUrl);
    const counter = sql;
    const checkout = await runCheckout(url, {
      shoppers,
      checkoutsPerShopper,
      warmupPerShopper: CHECKOUT_WARMUP_PER_SHOPPER,
      finalTimeoutMs: CHECKOUT_FINAL_TIMEOUT_MS,
      log,
      ...(onPaid ? { onPaid } : {}),
      ...(system ? { systemCpu: () => readTreeCpu(system.pid) } : {}),
      ...(counter ? { sqlCounts: () => counter.counts() } : {}),
    });
    const paid = checkout.checkoutToPaidMs;
    log(
      `${name}: ${checkout.checkoutsPerSecond} checkouts/s, checkout → paid p50 ${paid?.p50 ?? "-"} ms, p99 ${paid?.p99 ?? "-"} ms; ` +
        `${checkout.failed} failed, ${checkout.stuck} stuck` +
        (checkout.sqlPerCheckout
          ? `; per checkout ${checkout.sqlPerCheckout.statements} SQL statements in ${checkout.sqlPerCheckout.transactions} transactions`
          : ""),
    );
    // Failed checkouts are a result (judged by the target); none paid at all means nothing was measured.
    if (!paid) {
      const why = checkout.failureSamples[0] ?? "no checkout attempted";
      return { checkout, error: `no checkout reached paid (${checkout.failed} failed, ${checkout.stuck} stuck), e.g. ${why}` };
    }
    return { checkout };
  } catch (err) {
    log(`${name}: failed: ${errorText(err)}`);
    return { error: errorText(err) };
  } finally {
    await sql?.close();
  }
}

async function runCheckoutScenario(
  scenario: CheckoutScenario,
  url: string,
  cfg: BenchConfig,
  system?: RunningSystem,
): Promise<ScenarioResult> {
  return { ...scenario, ...(await measureCheckouts(scenario.name, url, cfg.shoppers, cfg.checkoutsPerShopper, undefined, system)) };
}

async function runRelayScenario(scenario: RelayScenario, broker: BenchBroker, cfg: BenchConfig, logger: Logger): Promise<RelayResult> {
  try {
    log(`${scenario.name}: ${cfg.relayRounds} rounds of ${cfg.relayEvents} events in batches of ${cfg.relayBatchSize}`);
    const relay = await runRelay({
      postgresUrl: cfg.postgresUrl,
      brokers: broker.brokers,
      events: cfg.relayEvents,
      batchSize: cfg.relayBatchSize,
      rounds: cfg.relayRounds,
      logger,
      log,
    });
    return { ...scenario, relay };
  } catch (err) {
    log(`${scenario.name}: failed: ${errorText(err)}`);
    return { ...scenario, error: errorText(err) };
  }
}

/**
 * One shopper's checkouts on the distributed mesh, next to the bare round trips measured before
 * it started, each cut into its hops by a consumer of the bench's own.
 */
async function runSagaScenario(
  scenario: SagaScenario,
  url: string,
  brokers: readonly string[],
  roundTrip: { figures?: RoundTripFigures; error?: string },
  cfg: BenchConfig,
): Promise<SagaResult> {
  const observer = await observeSaga(brokers).catch((err: unknown) => {
    log(`${scenario.name}: no breakdown into hops: ${errorText(err)}`);
    return undefined;
  });
  const { checkout, error } = await measureCheckouts(scenario.name, url, 1, cfg.distributedCheckouts, observer?.record);
  const stages: SagaStages | undefined = await observer?.stop();
  const paid = checkout?.checkoutToPaidMs;
  const rt = roundTrip.figures?.roundTripMs;
  const overheadMs = paid && rt ? round2(paid.p50 - scenario.target.hops * rt.p50) : undefined;
  const failure = roundTrip.error ? `bare round trips: ${roundTrip.error}` : error;
  return {
    ...scenario,
    ...(roundTrip.figures ? { roundTrip: roundTrip.figures } : {}),
    ...(checkout ? { checkout } : {}),
    ...(stages ? { stages } : {}),
    ...(overheadMs !== undefined ? { overheadMs } : {}),
    ...(failure ? { error: failure } : {}),
  };
}

/**
 * Phase 3: Postgres and a broker, the relay scenario on them, then the bare round trips (on the
 * broker alone, before the mesh starts) and the checkout scenarios on a distributed mesh.
 * Without Postgres or a broker every scenario of the phase is reported skipped. Returns what
 * broker was used.
 */
async function runDistributed(
  scenarios: readonly Scenario[],
  cfg: BenchConfig,
  tmp: string,
  logger: Logger,
  results: ScenarioResult[],
  harnessErrors: string[],
): Promise<string | undefined> {
  let skipped = await probePostgres(cfg.postgresUrl, logger);
  let broker: BenchBroker | undefined;
  if (!skipped) {
    try {
      broker = await startBroker({ repoRoot: REPO_ROOT, brokers: cfg.kafkaBrokers, logPath: join(tmp, "kafka-broker.log") });
      skipped = await probeBroker(broker.brokers);
    } catch (err) {
      skipped = errorText(err);
    }
  }
  try {
    if (skipped || !broker) {
      log(`distributed: skipped: ${skipped}`);
      for (const s of scenarios) {
        if (s.kind !== "load") results.push({ ...s, skipped: skipped ?? "no broker" });
      }
      return broker?.description;
    }
    log(`distributed: Postgres at ${redactUrl(cfg.postgresUrl)}, ${broker.description}`);
    for (const s of scenarios) if (s.kind === "relay") results.push(await runRelayScenario(s, broker, cfg, logger));

    const onMesh = scenarios.filter((s): s is SagaScenario | CheckoutScenario => s.kind === "saga" || s.kind === "checkout");
    if (onMesh.length === 0) return broker.description;
    const roundTrip: { figures?: RoundTripFigures; error?: string } = {};
    if (onMesh.some((s) => s.kind === "saga")) {
      try {
        log(`bare kafkajs round trips: ${cfg.roundTrips}, one at a time`);
        roundTrip.figures = await measureRoundTrips(broker.brokers, cfg.roundTrips);
        log(`bare kafkajs round trip p50 ${roundTrip.figures.roundTripMs.p50} ms, p99 ${roundTrip.figures.roundTripMs.p99} ms`);
      } catch (err) {
        roundTrip.error = errorText(err);
      }
    }
    log("starting the distributed mesh (six services and the edge, each its own process)");
    const started = performance.now();
    const logPath = join(tmp, "distributed.log");
    let dist: BenchDistributedMesh;
    try {
      dist = await startDistributedMesh({
        postgresUrl: cfg.postgresUrl,
        brokers: broker.brokers,
        logPath,
        logLevel: cfg.meshLogLevel ?? "warn",
        readyTimeoutMs: cfg.readyTimeoutMs,
      });
    } catch (err) {
      const error = `the distributed mesh did not start (${logPath}): ${errorText(err)}`;
      for (const s of onMesh) results.push({ ...s, error });
      return broker.description;
    }
    try {
      log(`distributed mesh ready at ${dist.mesh.url} in ${Math.round(performance.now() - started)} ms`);
      for (const s of onMesh) {
        results.push(
          s.kind === "saga"
            ? await runSagaScenario(s, dist.mesh.url, broker.brokers, roundTrip, cfg)
            : await runCheckoutScenario(s, dist.mesh.url, cfg),
        );
      }
      for (const exit of dist.unexpectedExits) harnessErrors.push(`distributed mesh: ${exit}`);
    } finally {
      await dist.stop().catch((err: unknown) => harnessErrors.push(`stopping the distributed mesh: ${errorText(err)}`));
    }
    return broker.description;
  } finally {
    await broker?.stop();
  }
}

/** Runs the scenarios of one system against one running instance of it. */
async function runScenarios(
  system: RunningSystem,
  scenarios: readonly Scenario[],
  cfg: BenchConfig,
  results: ScenarioResult[],
): Promise<void> {
  let productId: Promise<string> | undefined;
  const ctx: ScenarioContext = { system, productId: () => (productId ??= firstProductId(system)) };
  for (const scenario of scenarios) {
    switch (scenario.kind) {
      case "load":
        results.push(await runLoadScenario(scenario, ctx, cfg));
        break;
      case "checkout":
        results.push(await runCheckoutScenario(scenario, system.url, cfg, system));
        break;
      case "relay":
      case "saga":
        throw new Error(`scenario ${scenario.name} runs in the distributed phase only`);
      default: {
        const unknown: never = scenario;
        throw new Error(`unknown scenario kind: ${JSON.stringify(unknown)}`);
      }
    }
  }
}

/**
 * One result for a scenario measured in rounds, each round's rate in `rounds`: a load's mean
 * requests/s, a checkout's paid checkouts over the summed time with its counts summed; the
 * latencies of the last round. A round that
 * failed makes the whole an error.
 */
function mergeRounds(results: readonly ScenarioResult[]): ScenarioResult {
  const last = results[results.length - 1];
  if (!last || results.length === 1) return last as ScenarioResult;
  const failed = results.find((r) => r.error !== undefined || r.skipped !== undefined);
  if (failed) return failed;
  const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100;
  if (last.kind === "load") {
    const rounds = results.map((r) => (r.kind === "load" ? (r.load?.requestsPerSecond ?? 0) : 0));
    return last.load ? { ...last, rounds, load: { ...last.load, requestsPerSecond: mean(rounds) } } : last;
  }
  if (last.kind === "checkout" && last.checkout) {
    const figures = results.flatMap((r) => (r.kind === "checkout" && r.checkout ? [r.checkout] : []));
    const rounds = figures.map((f) => f.checkoutsPerSecond);
    const sum = (key: "attempted" | "paid" | "failed" | "stuck" | "non2xx" | "durationS") => figures.reduce((a, f) => a + f[key], 0);
    return {
      ...last,
      rounds,
      checkout: {
        ...last.checkout,
        durationS: Math.round(sum("durationS") * 100) / 100,
        checkoutsPerSecond: Math.round((sum("paid") / sum("durationS")) * 100) / 100,
        attempted: sum("attempted"),
        paid: sum("paid"),
        failed: sum("failed"),
        stuck: sum("stuck"),
        non2xx: sum("non2xx"),
      },
    };
  }
  return last;
}

/** Each load and checkout result's rate over its baseline scenario's, when both were measured. */
function withRatios(results: readonly ScenarioResult[]): ScenarioResult[] {
  const rateOf = (name: string): number | undefined => {
    const b = results.find((r) => r.name === name && !broken(r));
    if (b?.kind === "load") return b.load?.requestsPerSecond;
    if (b?.kind === "checkout") return b.checkout?.checkoutsPerSecond;
    return undefined;
  };
  const ratio = (rate: number | undefined, base: number | undefined) =>
    rate !== undefined && base ? { ratioToBaseline: Math.round((rate / base) * 1000) / 1000 } : {};
  return results.map((s): ScenarioResult => {
    if (s.kind === "load" && s.name !== s.baseline) return { ...s, ...ratio(s.load?.requestsPerSecond, rateOf(s.baseline)) };
    if (s.kind === "checkout" && s.baseline) return { ...s, ...ratio(s.checkout?.checkoutsPerSecond, rateOf(s.baseline)) };
    return s;
  });
}

async function main(): Promise<number> {
  installExitHandlers();
  let cfg: BenchConfig;
  let selection: Selection;
  try {
    cfg = readBenchConfig();
    selection = select(cfg.only);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`bench: ${err.message}`);
      return 2;
    }
    throw err;
  }

  const timestamp = new Date().toISOString();
  const tmp = mkdtempSync(join(os.tmpdir(), "shopmesh-bench-"));
  // Run as root, the mesh's PostgreSQL runs as another user, which must pass through to the data dir.
  chmodSync(tmp, 0o711);
  const harnessErrors: string[] = [];
  const scenarioResults: ScenarioResult[] = [];
  const memoryAfterLoad: Partial<Record<SystemName, MemorySample>> = {};
  const startup: { first?: StartResult; warm?: StartResult } = {};
  const bySystem = (name: SystemName) => selection.scenarios.filter((s) => s.system === name);

  const loadAtStart = os.loadavg();
  log(`node ${process.version}, ${os.cpus().length} cpus, load average ${loadText(loadAtStart)}; temp dir ${tmp}`);

  // 1. Baseline.
  if (bySystem("baseline").length > 0) {
    let system: RunningSystem | undefined;
    try {
      log("starting baseline (node:http → grpc-js echo, one child process)");
      system = await startBaseline({ logPath: join(tmp, "baseline.log") });
      log(`baseline ready at ${system.url} (pid ${system.pid})`);
      await runScenarios(system, bySystem("baseline"), cfg, scenarioResults);
      memoryAfterLoad.baseline = system.memory();
    } catch (err) {
      harnessErrors.push(`baseline: ${errorText(err)}`);
    } finally {
      await system?.stop();
    }
  }

  // 2. Mesh: first start on an empty data dir, warm start reusing it, then load on the warm one.
  const meshScenarios = bySystem("mesh");
  const dataDir = join(tmp, "data");
  mkdirSync(dataDir);
  if (selection.startup || meshScenarios.length > 0) {
    const start = async (label: string, fresh: boolean) => {
      log(`mesh ${label} start (${fresh ? "empty" : "reused"} data dir ${dataDir})`);
      const started = await startMesh({
        repoRoot: REPO_ROOT,
        entry: cfg.meshEntry,
        dataDir,
        freshDataDir: fresh,
        logPath: join(tmp, `mesh-${label}.log`),
        readyTimeoutMs: cfg.readyTimeoutMs,
        label,
      });
      const { figures, system } = started;
      log(
        `mesh ${label} start: ready in ${figures.readyMs} ms, RSS ${toMB(figures.memory.rssBytes)} MB (pid ${system.pid}, ${system.url})`,
      );
      return started;
    };
    let system: RunningSystem | undefined;
    let last: "first" | "warm" = "first";
    try {
      const first = await start("first", true);
      system = first.system;
      startup.first = first.figures;
      if (selection.startup) {
        const stop = await first.system.stop();
        system = undefined;
        startup.first = { ...first.figures, stop };
        log(`mesh first start stopped in ${stop.stopMs} ms${stop.forced ? " (ignored SIGTERM: killed)" : ""}`);
        const warm = await start("warm", false);
        system = warm.system;
        last = "warm";
        startup.warm = warm.figures;
      }
      if (meshScenarios.length > 0) {
        await runScenarios(system, meshScenarios, cfg, scenarioResults);
        memoryAfterLoad.mesh = system.memory();
      }
    } catch (err) {
      harnessErrors.push(`mesh: ${errorText(err)}`);
    } finally {
      if (system) {
        const stop = await system.stop();
        const figures = startup[last];
        if (figures) startup[last] = { ...figures, stop };
      }
    }
  }

  // 2b. Telemetry: two meshes on fresh data of their own, side by side, one exporting every span
  // over OTLP to a sink of the bench's and scraped for metrics every second, one without. Each
  // pair (off, on) is measured in alternating rounds, so that a busy machine weighs on both.
  const telemetryScenarios = bySystem("mesh-telemetry");
  let telemetry: TelemetryFigures | undefined;
  if (telemetryScenarios.length > 0) {
    const sink = await startTelemetrySink();
    const meshes: Partial<Record<"off" | "on", RunningSystem>> = {};
    try {
      for (const mode of ["off", "on"] as const) {
        const dir = join(tmp, `data-telemetry-${mode}`);
        mkdirSync(dir);
        log(
          mode === "on"
            ? `mesh start with telemetry on (OTLP to ${sink.endpoint}, /metrics scraped every ${SCRAPE_INTERVAL_MS} ms)`
            : "mesh start with telemetry off (no exporter, not scraped)",
        );
        const started = await startMesh({
          repoRoot: REPO_ROOT,
          entry: cfg.meshEntry,
          dataDir: dir,
          freshDataDir: true,
          logPath: join(tmp, `mesh-telemetry-${mode}.log`),
          readyTimeoutMs: cfg.readyTimeoutMs,
          label: `telemetry-${mode}`,
          ...(mode === "on"
            ? {
                env: {
                  OTEL_TRACES_EXPORTER: "otlp",
                  OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
                  OTEL_TRACES_SAMPLER: "parentbased_always_on",
                },
              }
            : {}),
        });
        meshes[mode] = started.system;
        log(`mesh with telemetry ${mode} ready in ${started.figures.readyMs} ms (pid ${started.system.pid}, ${started.system.url})`);
      }
      const on = meshes.on;
      const off = meshes.off;
      if (!on || !off) throw new Error("a telemetry mesh did not start");
      if (on.metricsUrl) sink.scrape(on.metricsUrl, SCRAPE_INTERVAL_MS);
      const isOff = (s: Scenario) => s.name.startsWith("telemetry-off-");
      for (const onScenario of telemetryScenarios.filter((s) => !isOff(s))) {
        const baselineName = "baseline" in onScenario ? onScenario.baseline : undefined;
        const offScenario = telemetryScenarios.find((s) => isOff(s) && s.name === baselineName);
        const rounds = onScenario.kind === "checkout" ? Math.min(2, cfg.telemetryRounds) : cfg.telemetryRounds;
        const measured: Record<string, ScenarioResult[]> = {};
        for (let round = 0; round < rounds; round++) {
          const pair: Array<[Scenario, RunningSystem]> = [[onScenario, on]];
          if (offScenario) pair.unshift([offScenario, off]);
          if (round % 2 === 1) pair.reverse();
          for (const [scenario, system] of pair) {
            log(`${scenario.name}: round ${round + 1} of ${rounds}`);
            const one: ScenarioResult[] = [];
            await runScenarios(system, [scenario], cfg, one);
            measured[scenario.name] = [...(measured[scenario.name] ?? []), ...one];
          }
        }
        for (const results of Object.values(measured)) scenarioResults.push(mergeRounds(results));
      }
      memoryAfterLoad["mesh-telemetry"] = on.memory();
    } catch (err) {
      harnessErrors.push(`mesh with telemetry: ${errorText(err)}`);
    } finally {
      await Promise.all([meshes.off?.stop(), meshes.on?.stop()]);
      telemetry = sink.figures();
      await sink.close();
    }
    log(
      `telemetry: ${telemetry.spanExports} span exports (${toMB(telemetry.spanExportBytes)} MB), ` +
        `${telemetry.scrapes} scrapes (${telemetry.scrapeFailures} failed)`,
    );
    if (telemetry.spanExports === 0) harnessErrors.push("mesh with telemetry: no span reached the OTLP sink");
  }

  // 3. Distributed mode.
  const distributed = bySystem("distributed");
  let kafka: string | undefined;
  if (distributed.length > 0) {
    kafka = await runDistributed(
      distributed,
      cfg,
      tmp,
      createLogger({ level: cfg.meshLogLevel ?? "warn" }),
      scenarioResults,
      harnessErrors,
    );
  }

  // 4. The storefront's first page, as built by `npm run build`.
  let webBundle: WebBundleResult | undefined;
  if (selection.webBundle) {
    try {
      webBundle = measureWebBundle(defaultWebAppDir);
      log(`web bundle: ${webBundle.jsGzipBytes} bytes of JavaScript gzipped for the first page (${webBundle.files.join(", ")})`);
    } catch (err) {
      webBundle = { error: `${defaultWebAppDir} not built (npm run build): ${errorText(err)}` };
      log(`web bundle: ${webBundle.error}`);
    }
  }

  // 5. Figures.
  const scenarios = withRatios(scenarioResults);
  for (const s of scenarios) {
    if (s.kind === "load" && s.load && broken(s)) {
      harnessErrors.push(
        `${s.name}: ${s.load.errors} errors, ${s.load.timeouts} timeouts, ${s.load.non2xx} non-2xx (status codes ${JSON.stringify(s.load.statusCodes)})`,
      );
    } else if (s.error) {
      harnessErrors.push(`${s.name}: ${s.error}`);
    }
  }
  const startupFigures = { ...startup, target: STARTUP_TARGET };
  const checks = [
    ...evaluate(scenarios, startupFigures, selection.startup, memoryAfterLoad.mesh),
    ...(webBundle ? [webBundleCheck(webBundle)] : []),
  ];
  const results: BenchResults = {
    schema: 1,
    timestamp,
    gitCommit: gitCommit(),
    machine: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      totalMemoryBytes: os.totalmem(),
      loadAverage: { start: loadAtStart, end: os.loadavg() },
    },
    config: {
      connections: cfg.connections,
      durationS: cfg.durationS,
      warmupS: cfg.warmupS,
      only: cfg.only ? [...cfg.only] : null,
      meshEntry: cfg.meshEntry ?? null,
      meshLogLevel: cfg.meshLogLevel ?? null,
      shoppers: cfg.shoppers,
      checkoutsPerShopper: cfg.checkoutsPerShopper,
      postgres: redactUrl(cfg.postgresUrl),
      kafka: kafka ?? null,
      relayEvents: cfg.relayEvents,
      relayBatchSize: cfg.relayBatchSize,
      relayRounds: cfg.relayRounds,
      roundTrips: cfg.roundTrips,
      distributedCheckouts: cfg.distributedCheckouts,
    },
    scenarios,
    startup: startupFigures,
    ...(webBundle ? { webBundle } : {}),
    ...(telemetry ? { telemetry } : {}),
    memoryAfterLoad,
    checks,
    verdict: verdictOf(checks),
    harnessErrors,
  };

  console.log(formatReport(results));
  const file = writeResults(RESULTS_DIR, results);
  console.log(`\nResults: ${relative(process.cwd(), file)} (and ${relative(process.cwd(), join(RESULTS_DIR, "latest.json"))})`);

  if (harnessErrors.length > 0 || cfg.keepTemp) {
    console.log(`Child logs and data kept in ${tmp}`);
  } else {
    rmSync(tmp, { recursive: true, force: true });
  }
  return harnessErrors.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    killAllChildren();
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error("bench: harness failed:", err);
    killAllChildren();
    process.exitCode = 1;
  },
);
