// Judges a run's results against their targets: a check per target, passed, failed or not
// judged (the figure is missing), and the run's verdict. report.ts prints them.
import { type MemorySample, toMB } from "./proc-status.js";
import {
  type BenchResults,
  broken,
  type Check,
  type CheckoutResult,
  kB,
  type RelayResult,
  type SagaResult,
  type ScenarioResult,
  STARTUP_TARGET,
  WEB_BUNDLE_TARGET,
  type WebBundleResult,
} from "./results.js";

/** What a check reports when there is no figure: why, when the scenario was skipped. */
const missing = (s: ScenarioResult) => (s.skipped ? "skipped" : "n/a");

function failedOrStuckCheck(s: CheckoutResult | SagaResult): Check {
  const c = s.checkout;
  const max = s.target.maxFailedOrStuck;
  return {
    what: `${s.name}: ${max === 0 ? "no failed or stuck checkout" : `failed + stuck ≤ ${max}`}`,
    actual: c ? `${c.failed} failed, ${c.stuck} stuck of ${c.attempted}` : missing(s),
    pass: c ? c.failed + c.stuck <= max : null,
  };
}

/** Rate, cost and add-to-cart latency of the checkouts, where the target names them. */
function checkoutCostChecks(s: CheckoutResult): Check[] {
  const c = s.checkout;
  const t = s.target;
  const judged = c !== undefined && !broken(s);
  const out: Check[] = [];
  if (t.minPerSecond !== undefined) {
    out.push({
      what: `${s.name}: ≥ ${t.minPerSecond} checkouts/s`,
      actual: c ? `${c.checkoutsPerSecond} /s` : missing(s),
      pass: judged ? c.checkoutsPerSecond >= t.minPerSecond : null,
    });
  }
  if (t.maxCpuMsPerCheckout !== undefined) {
    out.push({
      what: `${s.name}: CPU per checkout, every process, ≤ ${t.maxCpuMsPerCheckout} ms`,
      actual: c?.cpuMsPerCheckout === undefined ? missing(s) : `${c.cpuMsPerCheckout} ms`,
      pass: judged && c.cpuMsPerCheckout !== undefined ? c.cpuMsPerCheckout <= t.maxCpuMsPerCheckout : null,
    });
  }
  if (t.maxStatementsPerCheckout !== undefined) {
    out.push({
      what: `${s.name}: SQL statements per checkout ≤ ${t.maxStatementsPerCheckout}`,
      actual: c?.sqlPerCheckout === undefined ? missing(s) : `${c.sqlPerCheckout.statements}`,
      pass: judged && c.sqlPerCheckout !== undefined ? c.sqlPerCheckout.statements <= t.maxStatementsPerCheckout : null,
    });
  }
  if (t.maxAddItemP99Ms !== undefined) {
    out.push({
      what: `${s.name}: add to cart p99 during the checkouts ≤ ${t.maxAddItemP99Ms} ms`,
      actual: c?.addItemMs ? `${c.addItemMs.p99} ms` : missing(s),
      pass: judged && c.addItemMs ? c.addItemMs.p99 <= t.maxAddItemP99Ms : null,
    });
  }
  return out;
}

function checkoutChecks(s: CheckoutResult): Check[] {
  const paid = s.checkout?.checkoutToPaidMs;
  const judged = paid !== undefined && !broken(s);
  const { maxP50Ms, maxP99Ms } = s.target;
  const gates = [
    ["p50", maxP50Ms],
    ["p99", maxP99Ms],
  ] as const;
  return [
    ...gates.flatMap(([p, max]): Check[] =>
      max === undefined
        ? []
        : [
            {
              what: `${s.name}: ${p} checkout → paid ≤ ${max} ms`,
              actual: paid ? `${paid[p]} ms` : missing(s),
              pass: judged ? paid[p] <= max : null,
            },
          ],
    ),
    failedOrStuckCheck(s),
    ...checkoutCostChecks(s),
    ...(s.target.minRatioToBaseline === undefined
      ? []
      : [
          {
            what: `${s.name}: checkouts/s ≥ ${Math.round(s.target.minRatioToBaseline * 100)} % of ${s.baseline}'s`,
            actual: s.ratioToBaseline === undefined ? missing(s) : `${(s.ratioToBaseline * 100).toFixed(1)} %`,
            pass: s.ratioToBaseline === undefined || broken(s) ? null : s.ratioToBaseline >= s.target.minRatioToBaseline,
          },
        ]),
  ];
}

function relayChecks(s: RelayResult): Check[] {
  const r = s.relay;
  const pct = Math.round(s.target.minRatioToBare * 100);
  return [
    {
      what: `${s.name}: events/s ≥ ${pct} % of the bare kafkajs producer's`,
      actual: r ? `${(r.ratio * 100).toFixed(1)} % (${r.relay.eventsPerSecond} vs ${r.bare.eventsPerSecond} events/s)` : missing(s),
      pass: r && !broken(s) ? r.ratio >= s.target.minRatioToBare : null,
    },
  ];
}

function sagaChecks(s: SagaResult): Check[] {
  const { hops, maxOverheadMs } = s.target;
  const paid = s.checkout?.checkoutToPaidMs;
  const rt = s.roundTrip?.roundTripMs;
  return [
    {
      what: `${s.name}: checkout → paid p50 − ${hops} × bare round-trip p50 < ${maxOverheadMs} ms`,
      actual: s.overheadMs !== undefined && paid && rt ? `${s.overheadMs} ms (${paid.p50} − ${hops} × ${rt.p50})` : missing(s),
      pass: s.overheadMs !== undefined && !broken(s) ? s.overheadMs < maxOverheadMs : null,
    },
    failedOrStuckCheck(s),
  ];
}

export function evaluate(
  scenarios: readonly ScenarioResult[],
  startup: BenchResults["startup"],
  startupMeasured: boolean,
  meshAfterCheckout?: MemorySample,
  scaleMemory?: { readonly sample: MemorySample; readonly products: number },
): Check[] {
  const checks: Check[] = [];
  for (const s of scenarios) {
    switch (s.kind) {
      case "checkout":
        checks.push(...checkoutChecks(s));
        continue;
      case "relay":
        checks.push(...relayChecks(s));
        continue;
      case "saga":
        checks.push(...sagaChecks(s));
        continue;
      case "load":
        break;
      default: {
        const unknown: never = s;
        throw new Error(`unknown result kind: ${JSON.stringify(unknown)}`);
      }
    }
    if (!s.target) continue;
    const minRatio = s.target.minRatioToBaseline;
    if (minRatio !== undefined) {
      checks.push({
        what: `${s.name}: req/s ≥ ${Math.round(minRatio * 100)} % of ${s.baseline}'s`,
        actual: s.ratioToBaseline === undefined ? missing(s) : `${(s.ratioToBaseline * 100).toFixed(1)} %`,
        pass: s.ratioToBaseline === undefined || broken(s) ? null : s.ratioToBaseline >= minRatio,
      });
    }
    const maxP99Ms = s.target.maxP99Ms;
    if (maxP99Ms !== undefined) {
      checks.push({
        what: `${s.name}: p99 < ${maxP99Ms} ms`,
        actual: s.load ? `${s.load.latencyMs.p99} ms` : missing(s),
        pass: !s.load || broken(s) ? null : s.load.latencyMs.p99 < maxP99Ms,
      });
    }
  }
  if (startupMeasured) {
    const { first, warm } = startup;
    checks.push({
      what: `first start (empty data dir): ready ≤ ${STARTUP_TARGET.maxFirstReadyMs} ms`,
      actual: first ? `${first.readyMs} ms` : "n/a",
      pass: first ? first.readyMs <= STARTUP_TARGET.maxFirstReadyMs : null,
    });
    checks.push({
      what: `warm start: ready ≤ ${STARTUP_TARGET.maxWarmReadyMs} ms`,
      actual: warm ? `${warm.readyMs} ms` : "n/a",
      pass: warm ? warm.readyMs <= STARTUP_TARGET.maxWarmReadyMs : null,
    });
  }
  if (scaleMemory) {
    const { sample, products } = scaleMemory;
    checks.push({
      what: `mesh seeded with ${products} products, after its scenarios, every process (PSS): ≤ ${STARTUP_TARGET.maxAfterCheckoutMB} MB`,
      actual: `${toMB(sample.treePssBytes)} MB (RSS of the mesh process ${toMB(sample.rssBytes)} MB)`,
      pass: toMB(sample.treePssBytes) <= STARTUP_TARGET.maxAfterCheckoutMB,
    });
  }
  if (meshAfterCheckout) {
    checks.push({
      what: `mesh after the checkout scenario, every process (PSS): ≤ ${STARTUP_TARGET.maxAfterCheckoutMB} MB`,
      actual: `${toMB(meshAfterCheckout.treePssBytes)} MB`,
      pass: toMB(meshAfterCheckout.treePssBytes) <= STARTUP_TARGET.maxAfterCheckoutMB,
    });
  }
  return checks;
}

export function webBundleCheck(w: WebBundleResult): Check {
  const max = WEB_BUNDLE_TARGET.maxJsGzipBytes;
  const what = `storefront first page: JavaScript gzipped < ${kB(max)}`;
  if ("error" in w) return { what, actual: "not built", pass: null };
  return { what, actual: kB(w.jsGzipBytes), pass: w.jsGzipBytes < max };
}

export function verdictOf(checks: readonly Check[]): BenchResults["verdict"] {
  if (checks.some((c) => c.pass === false)) return "fail";
  if (checks.length === 0 || checks.some((c) => c.pass === null)) return "incomplete";
  return "pass";
}
