// Phase 2: the embedded mesh, `node launcher/dist/embedded.js`: a first start on an empty data
// dir, a warm start reusing it (ready time, RSS), then the mesh scenarios on the warm one, the
// checkout scenario (concurrent shoppers, checkout → paid) last.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startMesh } from "../mesh.js";
import { type MemorySample, toMB } from "../proc-status.js";
import type { ScenarioResult, StartResult } from "../results.js";
import type { Scenario } from "../scenarios.js";
import type { RunningSystem } from "../system.js";
import { type BenchRun, errorText, log, type PhaseResult } from "./phase.js";
import { runScenarios } from "./run-scenarios.js";

/** The mesh's starts, each stopped afterwards. */
export interface StartupFigures {
  first?: StartResult;
  warm?: StartResult;
}

/**
 * Starts the mesh on a fresh data dir; with `measureStartup`, stops it and starts it again on the
 * same dir. Then runs `scenarios` on the instance that is up.
 */
export async function runMeshPhase(
  run: BenchRun,
  scenarios: readonly Scenario[],
  measureStartup: boolean,
): Promise<PhaseResult & { startup: StartupFigures }> {
  const results: ScenarioResult[] = [];
  const harnessErrors: string[] = [];
  const startup: StartupFigures = {};
  let memoryAfterLoad: MemorySample | undefined;
  const dataDir = join(run.tmp, "data");
  mkdirSync(dataDir);
  const start = async (label: string, fresh: boolean) => {
    log(`mesh ${label} start (${fresh ? "empty" : "reused"} data dir ${dataDir})`);
    const started = await startMesh({
      repoRoot: run.repoRoot,
      entry: run.cfg.meshEntry,
      dataDir,
      freshDataDir: fresh,
      logPath: join(run.tmp, `mesh-${label}.log`),
      readyTimeoutMs: run.cfg.readyTimeoutMs,
      label,
    });
    const { figures, system } = started;
    log(`mesh ${label} start: ready in ${figures.readyMs} ms, RSS ${toMB(figures.memory.rssBytes)} MB (pid ${system.pid}, ${system.url})`);
    return started;
  };
  let system: RunningSystem | undefined;
  let last: "first" | "warm" = "first";
  try {
    const first = await start("first", true);
    system = first.system;
    startup.first = first.figures;
    if (measureStartup) {
      const stop = await first.system.stop();
      system = undefined;
      startup.first = { ...first.figures, stop };
      log(`mesh first start stopped in ${stop.stopMs} ms${stop.forced ? " (ignored SIGTERM: killed)" : ""}`);
      const warm = await start("warm", false);
      system = warm.system;
      last = "warm";
      startup.warm = warm.figures;
    }
    if (scenarios.length > 0) {
      await runScenarios(system, scenarios, run.cfg, results);
      memoryAfterLoad = system.memory();
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
  return { scenarios: results, harnessErrors, startup, ...(memoryAfterLoad ? { memoryAfterLoad } : {}) };
}
