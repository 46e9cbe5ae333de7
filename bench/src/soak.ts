// `npm run soak`: minutes of mixed load on distributed mode (six service processes and the edge on
// Postgres and a Kafka-protocol test broker) with faults — 30 % transient payment-provider
// failures throughout, the payment service restarted, the broker away for 10 s — then checks
// that every order reached a final state, that `reconcile` finds the books balanced, and that
// each process's resident memory is within 20 % of its level after warm-up. Exit code 1 otherwise.
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropServiceDatabases, formatReport, reconcile, Shopper, serviceNames, startDistributed } from "@shopmesh/launcher";
import { closeClient, createClient, createLogger } from "@shopmesh/platform";
import { startKafkaTestBroker } from "@shopmesh/platform/testing";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { readMemory, toMB } from "./proc-status.js";

const env = process.env;
const seconds = Number(env.SOAK_SECONDS ?? 180);
const shoppers = Number(env.SOAK_SHOPPERS ?? 6);
const postgresUrl = env.POSTGRES_URL ?? env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const maxGrowth = 0.2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<number> {
  const prefix = `soak_${randomBytes(3).toString("hex")}`;
  const logFile = join(tmpdir(), `${prefix}.log`);
  const out = createWriteStream(logFile);
  log(`${seconds} s, ${shoppers} shoppers; process output in ${logFile}`);
  const broker = await startKafkaTestBroker();
  const ports = Object.fromEntries(serviceNames.map((s) => [`${s.toUpperCase()}_PORT`, "0"]));
  const mesh = await startDistributed(
    {
      ...env,
      ...ports,
      POSTGRES_URL: postgresUrl,
      KAFKA_BROKERS: broker.brokers.join(","),
      SHOPMESH_DB_PREFIX: prefix,
      EDGE_PORT: "0",
      LOG_LEVEL: "warn",
      // 30 % of the provider's calls fail transiently; payment retries them.
      PAYMENT_FAILURE_RATE: "0.3",
    },
    {
      output: (name, _stream, line) => out.write(`${name} ${line}\n`),
      onUnexpectedExit: (e) => log(`unexpected exit: ${JSON.stringify(e)}`),
    },
  );
  const logger = createLogger({ level: "silent" });
  const catalog = createClient(CatalogService, mesh.services.catalog, { logger });
  const orders = createClient(OrderService, mesh.services.order, { logger });
  let failed = false;
  try {
    // Enough stock that most checkouts can be paid.
    const products = (await catalog.listProducts({ pageSize: 100 })).items;
    for (const p of products) await catalog.adjustStock({ productId: p.id, delta: 100_000, reason: "soak" });

    const placed: string[] = [];
    const statuses = new Map<number, number>();
    let stop = false;
    const shopperLoop = async (i: number) => {
      const shopper = await Shopper.signup(mesh.url, `${prefix}-${i}@example.com`);
      for (let n = 0; !stop; n++) {
        try {
          await shopper.call("GET", "/api/products?page_size=20");
          const p = products[(i * 7 + n) % products.length];
          if (!p) continue;
          await shopper.call("GET", `/api/products/${p.id}`);
          await shopper.addItem(p.id, 1 + (n % 2));
          if (n % 3 === 2) placed.push((await shopper.checkout()).order_id);
        } catch (err) {
          const status = (err as { reply?: { status: number } }).reply?.status ?? 0;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          await sleep(200);
        }
      }
    };
    const names = [...serviceNames, "edge"];
    const rss = (name: string) => {
      const pid = mesh.pid(name);
      return pid === undefined ? undefined : readMemory(pid).rssBytes;
    };
    /** V8 heap in use, from the process's /metrics (prom-client's default metrics). */
    const heapUsed = async (name: string) => {
      try {
        const text = await (await fetch(`${mesh.adminUrl(name)}/metrics`)).text();
        const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
        return m ? Number(m[1]) : undefined;
      } catch {
        return undefined;
      }
    };
    const median = (vs: number[]) => (vs.length === 0 ? undefined : vs.sort((a, b) => a - b)[Math.floor(vs.length / 2)]);
    /** Median RSS (and V8 heap in use) of each process over `ms`, one sample a second: one sample is at the mercy of a GC. */
    const rssOver = async (which: readonly string[], ms: number) => {
      const samples = new Map<string, { rss: number[]; heap: number[] }>(which.map((n) => [n, { rss: [], heap: [] }]));
      for (const until = Date.now() + ms; Date.now() < until; await sleep(1_000)) {
        for (const n of which) {
          const v = rss(n);
          const h = await heapUsed(n);
          if (v !== undefined) samples.get(n)?.rss.push(v);
          if (h !== undefined) samples.get(n)?.heap.push(h);
        }
      }
      return new Map([...samples].map(([n, x]) => [n, { rss: median(x.rss), heap: median(x.heap) }]));
    };
    const window = Math.min(15_000, seconds * 50);
    const started = Date.now();
    const at = (share: number) => sleep(Math.max(0, started + share * seconds * 1000 - Date.now()));
    const load = Promise.all(Array.from({ length: shoppers }, (_, i) => shopperLoop(i)));

    await at(0.25);
    const warm = await rssOver(names, window);
    log(`warmed up after ${placed.length} orders`);
    await at(0.4);
    log("restarting payment");
    await mesh.restart("payment");
    await at(0.5);
    const paymentWarm = (await rssOver(["payment"], window)).get("payment");
    if (paymentWarm) warm.set("payment", paymentWarm);
    await at(0.6);
    log("broker away for 10 s");
    await broker.down();
    await sleep(10_000);
    await broker.up();
    await at(1 - window / 1000 / seconds);
    // Memory is compared under the same load as at warm-up, over the last seconds of the load.
    const end = await rssOver(names, window);
    stop = true;
    await load;
    log(`load over: ${placed.length} orders placed; failed requests by status: ${JSON.stringify(Object.fromEntries(statuses))}`);

    // Every order must reach paid or cancelled.
    const open = async () =>
      (await orders.listAllOrders({ pageSize: 500, statuses: [OrderStatus.PENDING, OrderStatus.STOCK_RESERVED] })).items.length;
    const deadline = Date.now() + 120_000;
    let stuck = await open();
    while (stuck > 0 && Date.now() < deadline) {
      await sleep(1_000);
      stuck = await open();
    }
    const report = await reconcile(
      { order: mesh.services.order, payment: mesh.services.payment, catalog: mesh.services.catalog },
      { stuckAfterMs: 60_000, settleMs: 0, logger },
    );
    process.stdout.write(formatReport(report));
    const memory = names.map((name) => {
      const before = warm.get(name);
      const after = end.get(name);
      const growth = before?.rss && after?.rss ? (after.rss - before.rss) / before.rss : Number.NaN;
      const mb = (v: number | undefined) => (v === undefined ? null : toMB(v));
      return {
        name,
        warmMB: mb(before?.rss),
        endMB: mb(after?.rss),
        warmHeapMB: mb(before?.heap),
        endHeapMB: mb(after?.heap),
        growth,
        ok: growth <= maxGrowth,
      };
    });
    process.stdout.write("process        RSS warm-up MB   end MB   change    V8 heap used warm-up → end MB\n");
    for (const m of memory) {
      process.stdout.write(
        `${m.name.padEnd(14)} ${String(m.warmMB).padStart(14)} ${String(m.endMB).padStart(8)}   ${`${(m.growth * 100).toFixed(1)} %`.padStart(7)}    ${m.warmHeapMB} → ${m.endHeapMB}${m.ok ? "" : "   RSS OVER 20 %"}\n`,
      );
    }
    failed = stuck > 0 || report.discrepancies.length > 0 || memory.some((m) => !m.ok);
    const results = new URL("../results/", import.meta.url);
    mkdirSync(results, { recursive: true });
    const file = new URL(`soak-${new Date().toISOString().replace(/[:.]/g, "-")}.json`, results);
    writeFileSync(
      file,
      `${JSON.stringify({ seconds, shoppers, placed: placed.length, failedRequests: Object.fromEntries(statuses), stuck, orders: report.orders, discrepancies: report.discrepancies, memory, passed: !failed }, null, 2)}\n`,
    );
    log(`${failed ? "FAILED" : "passed"}; results in ${file.pathname}`);
  } finally {
    closeClient(catalog);
    closeClient(orders);
    await mesh.stop();
    await dropServiceDatabases(postgresUrl, prefix).catch(() => undefined);
    await broker.stop();
    out.end();
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
