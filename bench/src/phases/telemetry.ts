// Phase 2b: telemetry. Two meshes on fresh data of their own, side by side, one exporting every
// span over OTLP to a sink of the bench's and scraped for metrics every second, one without. Each
// pair (off, on) is measured in alternating rounds, so that a busy machine weighs on both.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startMesh } from "../mesh.js";
import { type MemorySample, toMB } from "../proc-status.js";
import { mergeRounds, type ScenarioResult } from "../results.js";
import type { Scenario } from "../scenarios.js";
import type { RunningSystem } from "../system.js";
import { startTelemetrySink, type TelemetryFigures } from "../telemetry-sink.js";
import { type BenchRun, errorText, log, type PhaseResult } from "./phase.js";
import { runScenarios } from "./run-scenarios.js";

/** How often the telemetry scenarios scrape /metrics (Prometheus' default is 15 s: this is harsher). */
const SCRAPE_INTERVAL_MS = 1_000;

export async function runTelemetryPhase(
  run: BenchRun,
  scenarios: readonly Scenario[],
): Promise<PhaseResult & { telemetry: TelemetryFigures }> {
  const { cfg, tmp } = run;
  const results: ScenarioResult[] = [];
  const harnessErrors: string[] = [];
  let memoryAfterLoad: MemorySample | undefined;
  let telemetry: TelemetryFigures;
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
        repoRoot: run.repoRoot,
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
    for (const onScenario of scenarios.filter((s) => !isOff(s))) {
      const baselineName = "baseline" in onScenario ? onScenario.baseline : undefined;
      const offScenario = scenarios.find((s) => isOff(s) && s.name === baselineName);
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
      for (const each of Object.values(measured)) results.push(mergeRounds(each));
    }
    memoryAfterLoad = on.memory();
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
  return { scenarios: results, harnessErrors, telemetry, ...(memoryAfterLoad ? { memoryAfterLoad } : {}) };
}
