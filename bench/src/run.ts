// `npm run bench`: measures the embedded mesh against a bare baseline in the same run, a phase
// after another (phases/):
//
//   1. baseline    — bench/dist/baseline-server.js in a child process, loaded over HTTP
//   2. mesh        — `node launcher/dist/embedded.js`: start-up on an empty and on a reused data
//                    dir, then the mesh scenarios on the warm instance, the checkout last
//   2b. telemetry  — two more meshes side by side, with telemetry on and off
//   2c. scale      — a mesh seeded with a large catalog and order history: search, category
//                    listing, order history and checkout at that size, and its memory
//   3. distributed — on Postgres and a Kafka-protocol broker: the outbox relay, bare kafkajs round
//                    trips, the distributed checkout scenarios (skipped, reported as such, when
//                    Postgres or the broker cannot be had)
//   4. web bundle  — the storefront's first page
//   5. figures     — judged against their targets (evaluate.ts), printed as a table, target
//                    PASS/FAIL lines (report.ts), and written as JSON under bench/results/
//
// Exits 0 whether or not targets are met; non-zero only when the harness itself could not
// measure (a start failed, a probe failed, errors or non-2xx answers under load).
//
// Env: see bench-config.ts and bench/README.md.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchConfig, ConfigError, readBenchConfig } from "./bench-config.js";
import { installExitHandlers, killAllChildren } from "./children.js";
import { redactUrl } from "./distributed.js";
import { evaluate, verdictOf, webBundleCheck } from "./evaluate.js";
import { runBaselinePhase } from "./phases/baseline.js";
import { runDistributedPhase } from "./phases/distributed.js";
import { runMeshPhase, type StartupFigures } from "./phases/mesh.js";
import { runScalePhase } from "./phases/scale.js";
import { type BenchRun, log, type PhaseResult } from "./phases/phase.js";
import { runTelemetryPhase } from "./phases/telemetry.js";
import { runWebBundlePhase } from "./phases/web-bundle.js";
import type { MemorySample } from "./proc-status.js";
import { formatReport, loadText, writeResults } from "./report.js";
import { type BenchResults, broken, type ScenarioResult, STARTUP_TARGET, type WebBundleResult, withRatios } from "./results.js";
import type { SystemName } from "./scenarios.js";
import { type Selection, select } from "./selection.js";
import type { TelemetryFigures } from "./telemetry-sink.js";

const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO_ROOT = resolve(BENCH_DIR, "..");
const RESULTS_DIR = join(BENCH_DIR, "results");

function gitCommit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
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
  const run: BenchRun = { cfg, tmp, repoRoot: REPO_ROOT };
  const harnessErrors: string[] = [];
  const scenarioResults: ScenarioResult[] = [];
  const memoryAfterLoad: Partial<Record<SystemName, MemorySample>> = {};
  const bySystem = (name: SystemName) => selection.scenarios.filter((s) => s.system === name);
  const record = (system: SystemName, phase: PhaseResult) => {
    scenarioResults.push(...phase.scenarios);
    harnessErrors.push(...phase.harnessErrors);
    if (phase.memoryAfterLoad) memoryAfterLoad[system] = phase.memoryAfterLoad;
  };

  const loadAtStart = os.loadavg();
  log(`node ${process.version}, ${os.cpus().length} cpus, load average ${loadText(loadAtStart)}; temp dir ${tmp}`);

  if (bySystem("baseline").length > 0) record("baseline", await runBaselinePhase(run, bySystem("baseline")));

  let startup: StartupFigures = {};
  if (selection.startup || bySystem("mesh").length > 0) {
    const mesh = await runMeshPhase(run, bySystem("mesh"), selection.startup);
    record("mesh", mesh);
    startup = mesh.startup;
  }

  let telemetry: TelemetryFigures | undefined;
  if (bySystem("mesh-telemetry").length > 0) {
    const phase = await runTelemetryPhase(run, bySystem("mesh-telemetry"));
    record("mesh-telemetry", phase);
    telemetry = phase.telemetry;
  }

  let scale: BenchResults["scale"];
  if (bySystem("mesh-scale").length > 0) {
    const phase = await runScalePhase(run, bySystem("mesh-scale"));
    record("mesh-scale", phase);
    scale = phase.seed;
  }

  let kafka: string | undefined;
  if (bySystem("distributed").length > 0) {
    const phase = await runDistributedPhase(run, bySystem("distributed"));
    record("distributed", phase);
    kafka = phase.kafka;
  }

  const webBundle: WebBundleResult | undefined = selection.webBundle ? runWebBundlePhase() : undefined;

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
    ...evaluate(
      scenarios,
      startupFigures,
      selection.startup,
      memoryAfterLoad.mesh,
      memoryAfterLoad["mesh-scale"] && scale ? { sample: memoryAfterLoad["mesh-scale"], products: scale.products } : undefined,
    ),
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
      scaleProducts: cfg.scaleProducts,
      scaleOrders: cfg.scaleOrders,
      scaleRate: cfg.scaleRate,
    },
    scenarios,
    startup: startupFigures,
    ...(webBundle ? { webBundle } : {}),
    ...(telemetry ? { telemetry } : {}),
    ...(scale ? { scale } : {}),
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
