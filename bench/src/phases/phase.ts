// What every phase of a run works with and gives back, and how it logs.
import type { BenchConfig } from "../bench-config.js";
import type { MemorySample } from "../proc-status.js";
import type { ScenarioResult } from "../results.js";

/** The run a phase is part of. */
export interface BenchRun {
  readonly cfg: BenchConfig;
  /** The run's temp dir: the data dirs and the child processes' logs. */
  readonly tmp: string;
  readonly repoRoot: string;
}

/** What a phase measured. */
export interface PhaseResult {
  /** Its scenarios' results, in the order they ran. */
  readonly scenarios: ScenarioResult[];
  /** Problems of the harness itself (a start failed, no span arrived…): the run is not valid. */
  readonly harnessErrors: string[];
  /** The memory of its system after the load, when it ran load on one. */
  readonly memoryAfterLoad?: MemorySample;
}

export const log = (msg: string) => console.log(`[bench] ${msg}`);

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
