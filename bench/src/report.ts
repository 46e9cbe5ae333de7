import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckoutFigures, Percentiles } from "./checkout.js";
import type { StopOutcome } from "./children.js";
import type { LoadFigures } from "./load.js";
import type { MeshStartFigures } from "./mesh.js";
import { type MemorySample, toMB } from "./proc-status.js";
import type { CheckoutTarget, ScenarioTarget, SystemName } from "./scenarios.js";

export const STARTUP_TARGET = { maxWarmReadyMs: 5_000, maxWarmRssMB: 600 } as const;

interface ResultBase {
  readonly name: string;
  readonly title: string;
  readonly system: SystemName;
  /** Set when the scenario could not be measured. */
  readonly error?: string;
}

export interface LoadResult extends ResultBase {
  readonly kind: "load";
  readonly request?: { readonly method: string; readonly path: string };
  readonly load?: LoadFigures;
  /** This scenario's requests/s over the baseline's, same run. */
  readonly ratioToBaseline?: number;
  readonly target?: ScenarioTarget;
}

export interface CheckoutResult extends ResultBase {
  readonly kind: "checkout";
  readonly checkout?: CheckoutFigures;
  readonly target: CheckoutTarget;
}

export type ScenarioResult = LoadResult | CheckoutResult;

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
  readonly machine: Readonly<Record<string, unknown>>;
  readonly config: Readonly<Record<string, unknown>>;
  readonly scenarios: readonly ScenarioResult[];
  readonly startup: { readonly first?: StartResult; readonly warm?: StartResult; readonly target: typeof STARTUP_TARGET };
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
  if (result.kind === "checkout") return false;
  const load = result.load;
  return load !== undefined && (load.errors > 0 || load.timeouts > 0 || load.non2xx > 0);
}

function checkoutChecks(s: CheckoutResult): Check[] {
  const c = s.checkout;
  const paid = c?.checkoutToPaidMs;
  const judged = paid !== undefined && !broken(s);
  const { maxP50Ms, maxP99Ms, maxFailedOrStuck } = s.target;
  return [
    {
      what: `${s.name}: p50 checkout → paid ≤ ${maxP50Ms} ms`,
      actual: paid ? `${paid.p50} ms` : "n/a",
      pass: judged ? paid.p50 <= maxP50Ms : null,
    },
    {
      what: `${s.name}: p99 checkout → paid ≤ ${maxP99Ms} ms`,
      actual: paid ? `${paid.p99} ms` : "n/a",
      pass: judged ? paid.p99 <= maxP99Ms : null,
    },
    {
      what: `${s.name}: ${maxFailedOrStuck === 0 ? "no failed or stuck checkout" : `failed + stuck ≤ ${maxFailedOrStuck}`}`,
      actual: c ? `${c.failed} failed, ${c.stuck} stuck of ${c.attempted}` : "n/a",
      pass: c ? c.failed + c.stuck <= maxFailedOrStuck : null,
    },
  ];
}

export function evaluate(scenarios: readonly ScenarioResult[], startup: BenchResults["startup"], startupMeasured: boolean): Check[] {
  const checks: Check[] = [];
  for (const s of scenarios) {
    if (s.kind === "checkout") {
      checks.push(...checkoutChecks(s));
      continue;
    }
    if (!s.target) continue;
    const pct = Math.round(s.target.minRatioToBaseline * 100);
    checks.push({
      what: `${s.name}: req/s ≥ ${pct} % of baseline`,
      actual: s.ratioToBaseline === undefined ? "n/a" : `${(s.ratioToBaseline * 100).toFixed(1)} %`,
      pass: s.ratioToBaseline === undefined || broken(s) ? null : s.ratioToBaseline >= s.target.minRatioToBaseline,
    });
    checks.push({
      what: `${s.name}: p99 < ${s.target.maxP99Ms} ms`,
      actual: s.load ? `${s.load.latencyMs.p99} ms` : "n/a",
      pass: !s.load || broken(s) ? null : s.load.latencyMs.p99 < s.target.maxP99Ms,
    });
  }
  if (startupMeasured) {
    const warm = startup.warm;
    checks.push({
      what: `warm start: ready ≤ ${STARTUP_TARGET.maxWarmReadyMs} ms`,
      actual: warm ? `${warm.readyMs} ms` : "n/a",
      pass: warm ? warm.readyMs <= STARTUP_TARGET.maxWarmReadyMs : null,
    });
    checks.push({
      what: `warm start: RSS < ${STARTUP_TARGET.maxWarmRssMB} MB`,
      actual: warm ? `${toMB(warm.memory.rssBytes)} MB` : "n/a",
      pass: warm ? toMB(warm.memory.rssBytes) < STARTUP_TARGET.maxWarmRssMB : null,
    });
  }
  return checks;
}

export function verdictOf(checks: readonly Check[]): BenchResults["verdict"] {
  if (checks.some((c) => c.pass === false)) return "fail";
  if (checks.length === 0 || checks.some((c) => c.pass === null)) return "incomplete";
  return "pass";
}

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function formatReport(results: BenchResults): string {
  const out: string[] = [];
  const cfg = results.config;
  if (results.scenarios.some((s) => s.kind === "load")) {
    out.push(`\nLoad: ${cfg.connections} connections, ${cfg.durationS} s measured after ${cfg.warmupS} s warm-up per scenario`);
  }
  const rows = results.scenarios.flatMap((s): string[][] => {
    if (s.kind === "checkout") {
      const c = s.checkout;
      if (!c) return [[s.title, "error", "", "", "", "", ""]];
      const ms = (p: Percentiles | undefined, key: "p50" | "p99") => (p ? p[key].toFixed(2) : "-");
      const rate = `${c.checkoutsPerSecond.toFixed(1)}/s`;
      return [
        [s.title, rate, ms(c.checkoutToPaidMs, "p50"), ms(c.checkoutToPaidMs, "p99"), String(c.failed + c.stuck), String(c.non2xx), ""],
        ["checkout: POST /api/checkout alone", rate, ms(c.placeOrderMs, "p50"), ms(c.placeOrderMs, "p99"), "", "", ""],
      ];
    }
    if (!s.load) return [[s.title, "error", "", "", "", "", ""]];
    const l = s.load;
    return [
      [
        s.title,
        String(l.requestsPerSecond),
        l.latencyMs.p50.toFixed(2),
        l.latencyMs.p99.toFixed(2),
        String(l.errors + l.timeouts),
        String(l.non2xx),
        s.ratioToBaseline === undefined ? "" : `${(s.ratioToBaseline * 100).toFixed(1)} %`,
      ],
    ];
  });
  if (rows.length > 0) {
    out.push(table(["scenario", "req/s", "p50 ms", "p99 ms", "errors", "non-2xx", "vs baseline"], rows, new Set([1, 2, 3, 4, 5, 6])));
  }
  for (const s of results.scenarios) if (s.error) out.push(`  ${s.name}: ERROR ${s.error.split("\n")[0]}`);
  for (const s of results.scenarios) if (s.kind === "checkout" && s.checkout) out.push(...formatCheckout(s.checkout));

  const starts = [results.startup.first, results.startup.warm].filter((s): s is StartResult => s !== undefined);
  if (starts.length > 0) {
    out.push("\nEmbedded start-up (spawn → first /readyz 200):");
    out.push(
      table(
        ["start", "ready ms", "URL line ms", "RSS MB", "peak RSS MB", "stop ms"],
        starts.map((s) => [
          `${s.label}${s.freshDataDir ? " (empty data dir)" : " (reused data dir)"}`,
          String(s.readyMs),
          s.urlLineMs === undefined ? "-" : String(s.urlLineMs),
          toMB(s.memory.rssBytes).toFixed(1),
          toMB(s.memory.hwmBytes).toFixed(1),
          s.stop ? `${s.stop.stopMs}${s.stop.forced ? " (killed)" : ""}` : "-",
        ]),
        new Set([1, 2, 3, 4, 5]),
      ),
    );
  }
  for (const [name, mem] of Object.entries(results.memoryAfterLoad)) {
    out.push(`${name} RSS after load: ${toMB(mem.rssBytes)} MB (peak ${toMB(mem.hwmBytes)} MB)`);
  }

  if (results.checks.length > 0) {
    out.push("\nTargets:");
    for (const c of results.checks) {
      const mark = c.pass === null ? "N/A " : c.pass ? "PASS" : "FAIL";
      out.push(`  ${mark}  ${c.what}  (${c.actual})`);
    }
  }
  out.push(`\nVerdict: ${results.verdict.toUpperCase()}`);
  if (results.harnessErrors.length > 0) {
    out.push("\nHarness errors (the run is not valid):");
    for (const e of results.harnessErrors) out.push(`  - ${e.replace(/\n/g, "\n    ")}`);
  }
  return out.join("\n");
}

function formatCheckout(c: CheckoutFigures): string[] {
  const out = [
    `\nCheckout: ${c.shoppers} shoppers × ${c.checkoutsPerShopper} checkouts of 1 unit (after ${c.warmupPerShopper} warm-up each), ` +
      `paid seen on the ${c.paidObservedVia}; req/s above = paid checkouts/s`,
  ];
  const row = (what: string, p: Percentiles | undefined) =>
    p ? [what, ...[p.p50, p.p95, p.p99, p.max].map((v) => v.toFixed(2)), String(p.samples)] : [what, "-", "-", "-", "-", "0"];
  out.push(
    table(
      ["ms", "p50", "p95", "p99", "max", "samples"],
      [
        row("POST /api/checkout → paid", c.checkoutToPaidMs),
        row("POST /api/checkout alone", c.placeOrderMs),
        row("POST /api/cart/items (before)", c.addItemMs),
        row("paid transition → seen", c.paidNoticeLagMs),
      ],
      new Set([1, 2, 3, 4, 5]),
    ),
  );
  out.push(
    `${c.paid} paid, ${c.failed} failed (${c.non2xx} non-2xx), ${c.stuck} stuck (not final within ${c.finalTimeoutMs / 1000} s) ` +
      `of ${c.attempted} in ${c.durationS} s: ${c.checkoutsPerSecond} checkouts/s; warm-up ${c.warmup.paid}/${c.warmup.attempted} paid; ` +
      `bench process CPU ${c.benchCpuPercent} % of a core`,
  );
  const taken = c.stock.before - c.stock.after;
  const paidUnits = c.paid + c.warmup.paid;
  out.push(
    `stock: ${c.stock.before} → ${c.stock.after} units over ${c.stock.products} products (${taken} taken for ${paidUnits} paid 1-unit orders)`,
  );
  for (const [reason, n] of Object.entries(c.failures)) out.push(`  ${n} × ${reason}`);
  for (const sample of c.failureSamples) out.push(`  e.g. ${sample.slice(0, 200)}`);
  return out;
}

/** Writes `<dir>/<timestamp>.json` and `<dir>/latest.json`; returns the first path. */
export function writeResults(dir: string, results: BenchResults): string {
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const file = join(dir, `${results.timestamp.replace(/:/g, "-")}.json`);
  writeFileSync(file, json);
  writeFileSync(join(dir, "latest.json"), json);
  return file;
}
