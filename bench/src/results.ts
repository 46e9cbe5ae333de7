// What one run of the bench measured, as the report prints it and bench/results/*.json keeps it:
// each scenario's result, the start-up and storefront figures, and the checks against targets;
// the targets of start-up and of the storefront bundle (a scenario's are in scenarios.ts); and
// what the run derives from them before judging them (rates over baselines, merged rounds).
import type { WebBundleSize } from "@shopmesh/edge";
import type { SeedSummary } from "@shopmesh/launcher";
import type { CheckoutFigures } from "./checkout.js";
import type { StopOutcome } from "./children.js";
import type { RoundTripFigures } from "./kafka-bare.js";
import type { LoadFigures } from "./load.js";
import type { MeshStartFigures } from "./mesh.js";
import type { MemorySample } from "./proc-status.js";
import type { RelayFigures } from "./relay.js";
import type { SagaStages } from "./saga-stages.js";
import type { CheckoutTarget, RelayTarget, SagaTarget, ScenarioTarget, SystemName } from "./scenarios.js";
import type { TelemetryFigures } from "./telemetry-sink.js";

/** Issue 16: spawn → ready on an empty and on a reused data dir; every process of the mesh after the checkout scenario. */
export const STARTUP_TARGET = { maxFirstReadyMs: 3_000, maxWarmReadyMs: 1_500, maxAfterCheckoutMB: 400 } as const;
/** Issue 7: JavaScript of the storefront's first page, gzipped, under 250 kB. */
export const WEB_BUNDLE_TARGET = { maxJsGzipBytes: 250_000 } as const;
/** The storefront's first page (measureWebBundle of @shopmesh/edge), or why it could not be measured. */
export type WebBundleResult = WebBundleSize | { readonly error: string };

interface ResultBase {
  readonly name: string;
  readonly title: string;
  readonly system: SystemName;
  /** Set when the scenario could not be measured. */
  readonly error?: string;
  /** Set when what it needs is not there (no Postgres, no broker): not run, not an error. */
  readonly skipped?: string;
}

export interface LoadResult extends ResultBase {
  readonly kind: "load";
  readonly request?: { readonly method: string; readonly path: string };
  readonly load?: LoadFigures;
  /** The scenario it is compared with. */
  readonly baseline: string;
  /** This scenario's requests/s over the baseline scenario's, same run. */
  readonly ratioToBaseline?: number;
  readonly target?: ScenarioTarget;
  /** Requests/s of each round, when measured in rounds (`load` is then their mean, latencies of the last). */
  readonly rounds?: readonly number[];
}

export interface CheckoutResult extends ResultBase {
  readonly kind: "checkout";
  readonly checkout?: CheckoutFigures;
  /** The checkout scenario it is compared with, if any. */
  readonly baseline?: string;
  /** This scenario's checkouts/s over the baseline scenario's, same run. */
  readonly ratioToBaseline?: number;
  readonly target: CheckoutTarget;
  /** Checkouts/s of each round, when measured in rounds (counts and time summed, latencies of the last). */
  readonly rounds?: readonly number[];
}

export interface RelayResult extends ResultBase {
  readonly kind: "relay";
  readonly relay?: RelayFigures;
  readonly target: RelayTarget;
}

export interface SagaResult extends ResultBase {
  readonly kind: "saga";
  /** The baseline: bare kafkajs produce → consume, measured before the mesh started. */
  readonly roundTrip?: RoundTripFigures;
  readonly checkout?: CheckoutFigures;
  /** The measured checkouts cut at the moments their events were sent to the broker. */
  readonly stages?: SagaStages;
  /** Checkout → paid p50 minus `target.hops` × the round-trip p50, milliseconds. */
  readonly overheadMs?: number;
  readonly target: SagaTarget;
}

export type ScenarioResult = LoadResult | CheckoutResult | RelayResult | SagaResult;

export interface StartResult extends MeshStartFigures {
  readonly stop?: StopOutcome;
}

export interface Check {
  readonly what: string;
  readonly actual: string;
  /** null: could not be judged in this run. */
  readonly pass: boolean | null;
}

export interface BenchResults {
  readonly schema: 1;
  readonly timestamp: string;
  readonly gitCommit: string | undefined;
  readonly machine: Readonly<Record<string, unknown>> & {
    /** os.loadavg() when the run started and ended: other work on the machine moves every figure. */
    readonly loadAverage?: { readonly start: readonly number[]; readonly end: readonly number[] };
  };
  readonly config: Readonly<Record<string, unknown>>;
  readonly scenarios: readonly ScenarioResult[];
  readonly startup: { readonly first?: StartResult; readonly warm?: StartResult; readonly target: typeof STARTUP_TARGET };
  readonly webBundle?: WebBundleResult;
  /** What the mesh with telemetry on exported and was scraped for. */
  readonly telemetry?: TelemetryFigures;
  /** What the scale phase seeded its mesh with, and how long it took. */
  readonly scale?: SeedSummary;
  /** Memory of each system after its load scenarios. */
  readonly memoryAfterLoad: Partial<Record<SystemName, MemorySample>>;
  readonly checks: readonly Check[];
  readonly verdict: "pass" | "fail" | "incomplete";
  /** Problems of the harness itself (a start failed, non-2xx or errors under load…). */
  readonly harnessErrors: readonly string[];
}

/** Could not be measured, or answered with errors under load. Failed checkouts are a result, judged by the target. */
export function broken(result: ScenarioResult): boolean {
  if (result.error !== undefined) return true;
  if (result.kind !== "load") return false;
  const load = result.load;
  return load !== undefined && (load.errors > 0 || load.timeouts > 0 || load.non2xx > 0);
}

/** A size in kB, as the checks and the report show it. */
export const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;

/**
 * One result for a scenario measured in rounds, each round's rate in `rounds`: a load's mean
 * requests/s, a checkout's paid checkouts over the summed time with its counts summed; the
 * latencies of the last round. A round that
 * failed makes the whole an error.
 */
export function mergeRounds(results: readonly ScenarioResult[]): ScenarioResult {
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
export function withRatios(results: readonly ScenarioResult[]): ScenarioResult[] {
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
