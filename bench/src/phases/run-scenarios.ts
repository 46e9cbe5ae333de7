// Runs scenarios against a running system: a load scenario with autocannon or the bench's own
// calls, a checkout scenario with concurrent shoppers. The phases that start a system use these.
import type { BenchConfig } from "../bench-config.js";
import {
  CHECKOUT_FINAL_TIMEOUT_MS,
  CHECKOUT_WARMUP_PER_SHOPPER,
  type CheckoutFigures,
  type PaidCheckout,
  runCheckout,
} from "../checkout.js";
import { runCallLoad } from "../call-load.js";
import { runLoad } from "../load.js";
import { readTreeCpu } from "../proc-status.js";
import type { ScenarioResult } from "../results.js";
import { type CheckoutScenario, firstProductId, type LoadScenario, type Scenario, type ScenarioContext } from "../scenarios.js";
import { openSqlCounter, type SqlCounter } from "../sql-counts.js";
import type { RunningSystem } from "../system.js";
import { errorText, log } from "./phase.js";

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
    const ratePerSecond = scenario.ratePerSecond?.(cfg);
    const pace = ratePerSecond === undefined ? "" : `, paced at ${ratePerSecond} req/s`;
    log(`${scenario.name}: ${request.method} ${request.url} — warm-up ${cfg.warmupS} s, measuring ${cfg.durationS} s${pace}`);
    const load = await runLoad(request, ratePerSecond === undefined ? cfg : { ...cfg, ratePerSecond });
    log(`${scenario.name}: ${load.requestsPerSecond} req/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms`);
    return { ...base, request: { method: request.method, path: new URL(request.url).pathname }, load };
  } catch (err) {
    log(`${scenario.name}: failed: ${errorText(err)}`);
    return { ...base, error: errorText(err) };
  }
}

/** Shoppers checking out on the edge at `url`: the figures, or why there are none. */
export async function measureCheckouts(
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

export async function runCheckoutScenario(
  scenario: CheckoutScenario,
  url: string,
  cfg: BenchConfig,
  system?: RunningSystem,
): Promise<ScenarioResult> {
  return { ...scenario, ...(await measureCheckouts(scenario.name, url, cfg.shoppers, cfg.checkoutsPerShopper, undefined, system)) };
}

/** Runs the scenarios of one system against one running instance of it, adding each result to `results`. */
export async function runScenarios(
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
