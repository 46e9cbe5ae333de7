// Phase 2c: the shop at scale. A mesh on fresh data, seeded with BENCH_SCALE_PRODUCTS products and
// BENCH_SCALE_ORDERS orders by `npm run seed`'s code (straight into its databases, while it runs),
// then the scale scenarios: searches, category listings, seeded shoppers' order history (first
// and a deep page), and checkouts last, compared with the demo catalog's (the mesh phase's).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { databaseUrl, defaultUsers, progressBar, type SeedSummary, seedShop, serviceDatabases } from "@shopmesh/launcher";
import { startMesh } from "../mesh.js";
import { type MemorySample, toMB } from "../proc-status.js";
import type { ScenarioResult } from "../results.js";
import { SCALE_PASSWORD } from "../scale-requests.js";
import type { Scenario } from "../scenarios.js";
import type { RunningSystem } from "../system.js";
import { type BenchRun, errorText, log, type PhaseResult } from "./phase.js";
import { runScenarios } from "./run-scenarios.js";

export async function runScalePhase(run: BenchRun, scenarios: readonly Scenario[]): Promise<PhaseResult & { seed?: SeedSummary }> {
  const results: ScenarioResult[] = [];
  const harnessErrors: string[] = [];
  let memoryAfterLoad: MemorySample | undefined;
  let seed: SeedSummary | undefined;
  const dataDir = join(run.tmp, "data-scale");
  mkdirSync(dataDir);
  let system: RunningSystem | undefined;
  try {
    const started = await startMesh({
      repoRoot: run.repoRoot,
      entry: run.cfg.meshEntry,
      dataDir,
      freshDataDir: true,
      logPath: join(run.tmp, "mesh-scale.log"),
      readyTimeoutMs: run.cfg.readyTimeoutMs,
      label: "scale",
    });
    system = started.system;
    const { postgresUrl } = system;
    if (!postgresUrl) throw new Error(`the mesh wrote no PostgreSQL URL to ${dataDir}/addresses.json`);
    const { products, orders } = { products: run.cfg.scaleProducts, orders: run.cfg.scaleOrders };
    log(`mesh-scale: seeding ${products} products and ${orders} orders (pid ${system.pid}, ${system.url})`);
    const names = serviceDatabases("shopmesh");
    const bar = progressBar(process.stderr);
    seed = await seedShop(
      {
        auth: databaseUrl(postgresUrl, names.auth),
        catalog: databaseUrl(postgresUrl, names.catalog),
        order: databaseUrl(postgresUrl, names.order),
        payment: databaseUrl(postgresUrl, names.payment),
      },
      { products, orders, users: defaultUsers(orders), password: SCALE_PASSWORD, onProgress: bar.update },
    );
    bar.end();
    log(
      `mesh-scale: seeded ${seed.products} products, ${seed.users} shoppers and ${seed.orders} orders in ${seed.seconds.toFixed(1)} s; ` +
        `mesh RSS ${toMB(system.memory().rssBytes)} MB`,
    );
    await runScenarios(system, scenarios, run.cfg, results);
    memoryAfterLoad = system.memory();
  } catch (err) {
    harnessErrors.push(`mesh-scale: ${errorText(err)}`);
  } finally {
    await system?.stop();
  }
  return { scenarios: results, harnessErrors, ...(memoryAfterLoad ? { memoryAfterLoad } : {}), ...(seed ? { seed } : {}) };
}
