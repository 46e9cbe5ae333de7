// `npm run soak`: minutes of mixed load on distributed mode (six service processes and the edge on
// Postgres and a Kafka-protocol test broker) with faults — 30 % transient payment-provider
// failures throughout, the payment service restarted, the broker away for 10 s — then checks
// that every order reached a final state, that `reconcile` finds the books balanced, and that
// each process's resident memory is within 20 % of its level after warm-up (the restart and the
// broker's absence in between). Exit code 1 otherwise.
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropServiceDatabases, formatReport, reconcile, Shopper, serviceNames, startDistributed } from "@shopmesh/launcher";
import { closeClient, createClient, createLogger, createMeshTls } from "@shopmesh/platform";
import { startKafkaTestBroker } from "@shopmesh/platform/testing/kafka-broker";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { readMemory, toMB } from "./proc-status.js";

const env = process.env;
const seconds = Number(env.SOAK_SECONDS ?? 300);
const shoppers = Number(env.SOAK_SHOPPERS ?? 6);
const postgresUrl = env.POSTGRES_URL ?? env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const maxGrowth = 0.2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (vs: number[]) => (vs.length === 0 ? undefined : vs.sort((a, b) => a - b)[Math.floor(vs.length / 2)]);
/** The value of an unlabelled gauge in a Prometheus text exposition. */
const gauge = (text: string, name: string) => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
};

interface MemoryPoint {
  rss: number;
  heap?: number;
  external?: number;
}
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
      // The load comes from loopback: it opts out of the edge's rate limits.
      EDGE_RATE_LIMIT_EXEMPT: "127.0.0.1,::1",
      LOG_LEVEL: "warn",
      // POST /gc on the admin ports: memory is compared after a full collection.
      ADMIN_GC_ENABLED: "true",
      // 30 % of the provider's calls fail transiently; payment retries them.
      PAYMENT_FAILURE_RATE: "0.3",
    },
    {
      output: (name, _stream, line) => out.write(`${name} ${line}\n`),
      onUnexpectedExit: (e) => log(`unexpected exit: ${JSON.stringify(e)}`),
    },
  );
  const logger = createLogger({ level: "silent" });
  // The soak's own reads and its closing reconciliation speak as the reconcile tool.
  const tls = mesh.tlsDir ? createMeshTls({ dir: mesh.tlsDir, workload: "reconcile" }) : undefined;
  const catalog = createClient(CatalogService, mesh.services.catalog, { logger, tls });
  const shelf = createClient(CatalogService, mesh.services.catalog, {
    logger,
    tls: mesh.tlsDir ? createMeshTls({ dir: mesh.tlsDir, workload: "edge" }) : undefined,
  });
  const orders = createClient(OrderService, mesh.services.order, { logger, tls });
  let failed = false;
  try {
    // Enough stock that most checkouts can be paid.
    // ListProducts is the edge's (its call policy); the stock adjustments are an operator's.
    const products = (await shelf.listProducts({ pageSize: 100 })).items;
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
    /** A process's memory now: RSS from /proc, V8 heap in use and Buffer memory from its /metrics (prom-client's). */
    const sampleOf = async (name: string): Promise<MemoryPoint | undefined> => {
      const pid = mesh.pid(name);
      if (pid === undefined) return undefined;
      let point: MemoryPoint;
      try {
        point = { rss: readMemory(pid).rssBytes };
      } catch {
        // exiting during a restart: a zombie's status has no VmRSS, a reaped process no status
        return undefined;
      }
      try {
        const text = await (await fetch(`${mesh.adminUrl(name)}/metrics`)).text();
        point.heap = gauge(text, "nodejs_heap_size_used_bytes");
        point.external = gauge(text, "nodejs_external_memory_bytes");
      } catch {
        // between a restart's stop and start: RSS only
      }
      return point;
    };
    /** Every process's memory, one sample a second from the start of the load to its end. */
    const timeline: { t: number; name: string; point: MemoryPoint }[] = [];
    let sampling = true;
    const started = Date.now();
    const sampler = (async () => {
      for (; sampling; await sleep(1_000)) {
        const t = Date.now() - started;
        for (const name of names) {
          const point = await sampleOf(name);
          if (point) timeline.push({ t, name, point });
        }
      }
    })();
    /** Median of each figure of `name` over [from, to) ms after the start: one sample is at the mercy of a GC. */
    const levelOf = (name: string, from: number, to: number) => {
      const points = timeline.filter((s) => s.name === name && s.t >= from && s.t < to).map((s) => s.point);
      const of = (pick: (p: MemoryPoint) => number | undefined) => median(points.map(pick).filter((v) => v !== undefined));
      return { rss: of((p) => p.rss), heap: of((p) => p.heap), external: of((p) => p.external) };
    };
    /**
     * Each process's resident set right after a full collection (POST /gc): what it holds, without
     * the garbage the collector had not got round to, which under load is ±20 % and more of RSS.
     */
    const collected = async () =>
      new Map(
        await Promise.all(
          names.map(async (n) => {
            const res = await fetch(`${mesh.adminUrl(n)}/gc`, { method: "POST" });
            if (!res.ok) throw new Error(`POST /gc of ${n}: ${res.status}`);
            const { after } = (await res.json()) as { after: { rss: number; heapUsed: number } };
            return [n, after] as const;
          }),
        ),
      );
    const load = Promise.all(Array.from({ length: shoppers }, (_, i) => shopperLoop(i)));
    // The schedule, in shares of the run. A level is the median over a fifth of the run (a minute
    // of the default five): under load the V8 heap saws between collections by ±20 % and more,
    // and RSS with it, so a window must span several collections to say where a process sits.
    const ms = (share: number) => share * seconds * 1000;
    const at = (share: number) => sleep(Math.max(0, started + ms(share) - Date.now()));
    const warmWindow = [0.3, 0.5] as const;
    const endWindow = [0.8, 1] as const;

    await at(0.2);
    log(`restarting payment (${placed.length} orders so far)`);
    await mesh.restart("payment");
    await at(warmWindow[1]);
    const warm = new Map(names.map((n) => [n, levelOf(n, ms(warmWindow[0]), ms(warmWindow[1]))]));
    const warmCollected = await collected();
    log(`warm-up level taken after ${placed.length} orders`);
    await at(0.6);
    log("broker away for 10 s");
    await broker.down();
    await sleep(10_000);
    await broker.up();
    // Memory is compared under the same load as at warm-up, over the last fifth of the load.
    await at(endWindow[1]);
    sampling = false;
    await sampler;
    const end = new Map(names.map((n) => [n, levelOf(n, ms(endWindow[0]), ms(endWindow[1]))]));
    const endCollected = await collected();
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
      { stuckAfterMs: 60_000, settleMs: 0, logger, tls },
    );
    process.stdout.write(formatReport(report));
    const mb = (v: number | undefined) => (v === undefined ? null : toMB(v));
    const memory = names.map((name) => {
      const before = warmCollected.get(name);
      const after = endCollected.get(name);
      const growth = before && after ? (after.rss - before.rss) / before.rss : Number.NaN;
      const load = { warm: warm.get(name), end: end.get(name) };
      return {
        name,
        warmMB: mb(before?.rss),
        endMB: mb(after?.rss),
        warmHeapMB: mb(before?.heapUsed),
        endHeapMB: mb(after?.heapUsed),
        growth,
        ok: growth <= maxGrowth,
        underLoad: {
          warmMB: mb(load.warm?.rss),
          endMB: mb(load.end?.rss),
          warmHeapMB: mb(load.warm?.heap),
          endHeapMB: mb(load.end?.heap),
          warmExternalMB: mb(load.warm?.external),
          endExternalMB: mb(load.end?.external),
        },
      };
    });
    const cell = (a: unknown, b: unknown) => `${a} → ${b}`;
    process.stdout.write(
      "               after a full collection                           under load (median over a fifth of the run)\n" +
        "process        RSS warm-up → end MB   change    V8 heap MB       RSS MB          V8 heap MB      Buffers MB\n",
    );
    for (const m of memory) {
      const u = m.underLoad;
      process.stdout.write(
        `${m.name.padEnd(14)} ${cell(m.warmMB, m.endMB).padEnd(21)} ${`${(m.growth * 100).toFixed(1)} %`.padStart(7)}    ${cell(m.warmHeapMB, m.endHeapMB).padEnd(16)} ${cell(u.warmMB, u.endMB).padEnd(15)} ${cell(u.warmHeapMB, u.endHeapMB).padEnd(15)} ${cell(u.warmExternalMB, u.endExternalMB)}${m.ok ? "" : "   RSS OVER 20 %"}\n`,
      );
    }
    failed = stuck > 0 || report.discrepancies.length > 0 || memory.some((m) => !m.ok);
    const results = new URL("../results/", import.meta.url);
    mkdirSync(results, { recursive: true });
    const file = new URL(`soak-${new Date().toISOString().replace(/[:.]/g, "-")}.json`, results);
    writeFileSync(
      file,
      `${JSON.stringify({ seconds, shoppers, placed: placed.length, failedRequests: Object.fromEntries(statuses), stuck, orders: report.orders, discrepancies: report.discrepancies, memory, passed: !failed, timeline: timeline.map(({ t, name, point }) => ({ t, name, rssMB: mb(point.rss), heapMB: mb(point.heap), externalMB: mb(point.external) })) }, null, 2)}\n`,
    );
    log(`${failed ? "FAILED" : "passed"}; results in ${file.pathname}`);
  } finally {
    closeClient(catalog);
    closeClient(shelf);
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
