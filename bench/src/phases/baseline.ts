// Phase 1: the bare baseline (node:http → grpc-js echo in a child process) and its scenarios.
import { join } from "node:path";
import { startBaseline } from "../baseline.js";
import type { MemorySample } from "../proc-status.js";
import type { ScenarioResult } from "../results.js";
import type { Scenario } from "../scenarios.js";
import type { RunningSystem } from "../system.js";
import { type BenchRun, errorText, log, type PhaseResult } from "./phase.js";
import { runScenarios } from "./run-scenarios.js";

export async function runBaselinePhase(run: BenchRun, scenarios: readonly Scenario[]): Promise<PhaseResult> {
  const results: ScenarioResult[] = [];
  const harnessErrors: string[] = [];
  let memoryAfterLoad: MemorySample | undefined;
  let system: RunningSystem | undefined;
  try {
    log("starting baseline (node:http → grpc-js echo, one child process)");
    system = await startBaseline({ logPath: join(run.tmp, "baseline.log") });
    log(`baseline ready at ${system.url} (pid ${system.pid})`);
    await runScenarios(system, scenarios, run.cfg, results);
    memoryAfterLoad = system.memory();
  } catch (err) {
    harnessErrors.push(`baseline: ${errorText(err)}`);
  } finally {
    await system?.stop();
  }
  return { scenarios: results, harnessErrors, ...(memoryAfterLoad ? { memoryAfterLoad } : {}) };
}
