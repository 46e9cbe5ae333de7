// The printed report of a run (a table, details, the checks and the verdict) and its JSON files.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckoutFigures, Percentiles } from "./checkout.js";
import type { RoundTripFigures } from "./kafka-bare.js";
import { toMB } from "./proc-status.js";
import type { RelayFigures } from "./relay.js";
import { type BenchResults, kB, type ScenarioResult, STARTUP_TARGET, type StartResult, WEB_BUNDLE_TARGET } from "./results.js";
import type { SagaStages } from "./saga-stages.js";

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export const loadText = (load: readonly number[]) => load.map((l) => l.toFixed(2)).join(" ");

export function formatReport(results: BenchResults): string {
  const out: string[] = [];
  const cfg = results.config;
  if (results.scenarios.some((s) => s.kind === "load")) {
    out.push(`\nLoad: ${cfg.connections} connections, ${cfg.durationS} s measured after ${cfg.warmupS} s warm-up per scenario`);
  }
  const rows = [...results.scenarios.flatMap(scenarioRows), ...otherRows(results)];
  if (rows.length > 0) {
    out.push(table(["scenario", "rate", "p50 ms", "p99 ms", "errors", "non-2xx", "vs baseline"], rows, new Set([1, 2, 3, 4, 5, 6])));
  }
  for (const s of results.scenarios) if (s.error) out.push(`  ${s.name}: ERROR ${s.error.split("\n")[0]}`);
  const t = results.telemetry;
  if (t) {
    out.push(
      `  telemetry on: every span exported over OTLP/HTTP (${t.spanExports} exports, ${toMB(t.spanExportBytes)} MB), ` +
        `/metrics scraped every ${t.scrapeIntervalMs} ms (${t.scrapes} scrapes of ~${kB(t.lastScrapeBytes)}, ${t.scrapeFailures} failed); ` +
        "telemetry off: no exporter (metrics are always kept, not scraped)",
    );
  }
  const seeded = results.scale;
  if (seeded) {
    out.push(
      `  seeded mesh: ${seeded.products} products, ${seeded.users} shoppers, ${seeded.orders} orders ` +
        `(paid ${seeded.byStatus.PAID}, cancelled ${seeded.byStatus.CANCELLED}, refunded ${seeded.byStatus.REFUNDED}), seeded in ${seeded.seconds.toFixed(1)} s`,
    );
  }
  const w = results.webBundle;
  if (w && !("error" in w)) {
    out.push(
      `  storefront first page: ${w.files.join(", ")}: ${kB(w.jsBytes)} of JavaScript (${kB(w.jsGzipBytes)} gzipped), CSS ${kB(w.cssGzipBytes)} gzipped`,
    );
  }
  for (const s of results.scenarios) if (s.skipped) out.push(`  ${s.name}: SKIPPED ${s.skipped}`);
  for (const s of results.scenarios) {
    if (s.kind === "relay" && s.relay) out.push(...formatRelay(s.relay));
    if (s.kind === "saga" && s.roundTrip) out.push(...formatRoundTrip(s.roundTrip));
    if ((s.kind === "checkout" || s.kind === "saga") && s.checkout) out.push(...formatCheckout(s.title, s.checkout));
    if (s.kind === "saga" && s.stages) out.push(...formatStages(s.stages));
  }

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
    out.push(
      `${name} RSS after load: ${toMB(mem.rssBytes)} MB (peak ${toMB(mem.hwmBytes)} MB); every process of it (PSS): ${toMB(mem.treePssBytes ?? 0)} MB`,
    );
  }

  if (results.checks.length > 0) {
    out.push("\nTargets:");
    for (const c of results.checks) {
      const mark = c.pass === null ? "N/A " : c.pass ? "PASS" : "FAIL";
      out.push(`  ${mark}  ${c.what}  (${c.actual})`);
    }
  }
  const load = results.machine.loadAverage;
  if (load) out.push(`\nLoad average (1/5/15 min): ${loadText(load.start)} at the start, ${loadText(load.end)} at the end`);
  out.push(`\nVerdict: ${results.verdict.toUpperCase()}`);
  if (results.harnessErrors.length > 0) {
    out.push("\nHarness errors (the run is not valid):");
    for (const e of results.harnessErrors) out.push(`  - ${e.replace(/\n/g, "\n    ")}`);
  }
  return out.join("\n");
}

/** "48.0 % of baseline": a ratio and what it is a ratio to. */
export const vsText = (ratio: number | undefined, baseline: string | undefined) =>
  ratio === undefined ? "" : `${(ratio * 100).toFixed(1)} % of ${baseline ?? "baseline"}`;
/** Start-up and the web bundle, in the main table: the figure in the rate column, its target as the comparison. */
function otherRows(results: BenchResults): string[][] {
  const rows: string[][] = [];
  for (const s of [results.startup.first, results.startup.warm]) {
    if (!s) continue;
    const target = s.label === "warm" ? `target ≤ ${STARTUP_TARGET.maxWarmReadyMs} ms` : `target ≤ ${STARTUP_TARGET.maxFirstReadyMs} ms`;
    rows.push([
      `embedded start, ${s.freshDataDir ? "empty" : "reused"} data dir: ready, RSS`,
      `${s.readyMs} ms`,
      "",
      "",
      "",
      "",
      `${toMB(s.memory.rssBytes).toFixed(0)} MB; ${target}`.replace(/; $/, ""),
    ]);
  }
  const w = results.webBundle;
  if (w) {
    rows.push([
      "storefront first page: JavaScript, gzipped",
      "error" in w ? "not built" : kB(w.jsGzipBytes),
      "",
      "",
      "",
      "",
      `target < ${kB(WEB_BUNDLE_TARGET.maxJsGzipBytes)}`,
    ]);
  }
  return rows;
}

const ms = (p: Percentiles | undefined, key: "p50" | "p99") => (p ? p[key].toFixed(2) : "-");
/** A checkout scenario's row: paid checkouts/s, checkout → paid p50 and p99, failed + stuck, non-2xx. */
const checkoutRow = (title: string, c: CheckoutFigures, vsBaseline = "") => [
  title,
  `${c.checkoutsPerSecond.toFixed(1)} paid/s`,
  ms(c.checkoutToPaidMs, "p50"),
  ms(c.checkoutToPaidMs, "p99"),
  String(c.failed + c.stuck),
  String(c.non2xx),
  vsBaseline,
];

/** The table rows of a scenario, its baseline's row first where it has one. */
function scenarioRows(s: ScenarioResult): string[][] {
  if (s.skipped) return [[s.title, "skipped", "", "", "", "", ""]];
  switch (s.kind) {
    case "checkout": {
      const c = s.checkout;
      if (!c) return [[s.title, "error", "", "", "", "", ""]];
      return [
        checkoutRow(s.title, c, vsText(s.ratioToBaseline, s.baseline)),
        ["  POST /api/checkout alone", "", ms(c.placeOrderMs, "p50"), ms(c.placeOrderMs, "p99"), "", "", ""],
      ];
    }
    case "relay": {
      const r = s.relay;
      if (!r) return [[s.title, "error", "", "", "", "", ""]];
      return [
        [`baseline: bare kafkajs producer, batches of ${r.batchSize}`, `${r.bare.eventsPerSecond} ev/s`, "", "", "", "", ""],
        [s.title, `${r.relay.eventsPerSecond} ev/s`, "", "", "", "", `${(r.ratio * 100).toFixed(1)} %`],
      ];
    }
    case "saga": {
      const rt = s.roundTrip;
      const c = s.checkout;
      const rows = rt
        ? [["baseline: bare kafkajs produce → consume", "", ms(rt.roundTripMs, "p50"), ms(rt.roundTripMs, "p99"), "", "", ""]]
        : [];
      if (!c) return [...rows, [s.title, "error", "", "", "", "", ""]];
      const overhead = s.overheadMs === undefined ? "" : `p50 − ${s.target.hops} × RT = ${s.overheadMs.toFixed(2)} ms`;
      return [...rows, checkoutRow(s.title, c, overhead)];
    }
    case "load": {
      const l = s.load;
      if (!l) return [[s.title, "error", "", "", "", "", ""]];
      return [
        [
          s.title,
          `${l.requestsPerSecond} ${s.request?.method === "gRPC" ? "calls/s" : "req/s"}${l.offeredPerSecond !== undefined ? ` (${l.offeredPerSecond} offered)` : ""}`,
          l.latencyMs.p50.toFixed(2),
          l.latencyMs.p99.toFixed(2),
          String(l.errors + l.timeouts),
          String(l.non2xx),
          s.baseline === s.name && s.target?.maxP99Ms !== undefined
            ? `target p99 < ${s.target.maxP99Ms} ms`
            : vsText(s.ratioToBaseline, s.baseline),
        ],
      ];
    }
    default: {
      const unknown: never = s;
      throw new Error(`unknown result kind: ${JSON.stringify(unknown)}`);
    }
  }
}

function formatRelay(r: RelayFigures): string[] {
  const b = r.payloadBytes;
  const median = r.rounds.indexOf(r);
  const rows = r.rounds.flatMap(({ bare, relay, ratio, writeMs }, i) => [
    [
      `${i + 1}${i === median ? " (median)" : ""}`,
      "bare kafkajs producer",
      String(bare.durationMs),
      String(bare.eventsPerSecond),
      "",
      "",
      "",
    ],
    [
      "",
      "outbox relay → Kafka bus",
      String(relay.durationMs),
      String(relay.eventsPerSecond),
      `${relay.publishMs} / ${relay.durationMs - relay.publishMs}`,
      `${(ratio * 100).toFixed(1)} %`,
      String(writeMs),
    ],
  ]);
  return [
    `\nRelay: ${r.events} OrderPlaced events (protobuf ${b.min}–${b.max} bytes; key, CloudEvents headers, traceparent) per round, ` +
      `${r.batchSize} per batch, acks=all, batches one at a time; the relay timed from its start to the last row marked published`,
    table(["round", "", "ms", "events/s", "publish / rest ms", "relay/bare", "rows written ms (untimed)"], rows, new Set([2, 3, 4, 5, 6])),
  ];
}

/** A row of a percentile table: what, p50, p95, p99, max, samples. */
function percentileRow(what: string, p: Percentiles | undefined): string[] {
  return p ? [what, ...[p.p50, p.p95, p.p99, p.max].map((v) => v.toFixed(2)), String(p.samples)] : [what, "-", "-", "-", "-", "0"];
}

function formatRoundTrip(rt: RoundTripFigures): string[] {
  return [
    `\nBare kafkajs round trip: ${rt.messages} OrderPlaced-sized messages one at a time, producer (acks=all) → consumer group ` +
      `(fetch wait ${rt.consumerMaxWaitMs} ms, as the Kafka bus), each at a random moment of the consumer's fetch wait; before the mesh started`,
    table(
      ["ms", "p50", "p95", "p99", "max", "samples"],
      [percentileRow("send → eachMessage", rt.roundTripMs), percentileRow("send → acknowledged", rt.sendMs)],
      new Set([1, 2, 3, 4, 5]),
    ),
  ];
}

function formatStages(stages: SagaStages): string[] {
  return [
    `\nWhere checkout → paid goes (${stages.checkouts} checkouts; each step until the next event was sent to the broker, Kafka message timestamps):`,
    table(
      ["ms", "p50", "p95", "p99", "max", "samples"],
      stages.stages.map((s) => percentileRow(s.what, s.ms)),
      new Set([1, 2, 3, 4, 5]),
    ),
  ];
}

function formatCheckout(title: string, c: CheckoutFigures): string[] {
  const out = [
    `\n${title}: ${c.shoppers} shopper(s) × ${c.checkoutsPerShopper} checkouts of 1 unit (after ${c.warmupPerShopper} warm-up each), ` +
      `paid seen on the ${c.paidObservedVia}`,
  ];
  out.push(
    table(
      ["ms", "p50", "p95", "p99", "max", "samples"],
      [
        percentileRow("POST /api/checkout → paid", c.checkoutToPaidMs),
        percentileRow("POST /api/checkout alone", c.placeOrderMs),
        percentileRow("POST /api/cart/items (before)", c.addItemMs),
        percentileRow("paid transition → seen", c.paidNoticeLagMs),
      ],
      new Set([1, 2, 3, 4, 5]),
    ),
  );
  out.push(
    `${c.paid} paid, ${c.failed} failed (${c.non2xx} non-2xx), ${c.stuck} stuck (not final within ${c.finalTimeoutMs / 1000} s) ` +
      `of ${c.attempted} in ${c.durationS} s: ${c.checkoutsPerSecond} checkouts/s; warm-up ${c.warmup.paid}/${c.warmup.attempted} paid; ` +
      `bench process CPU ${c.benchCpuPercent} % of a core`,
  );
  if (c.cpuMsPerCheckout !== undefined) {
    const split =
      c.ownCpuMsPerCheckout === undefined || c.childrenCpuMsPerCheckout === undefined
        ? ""
        : ` (its own process ${c.ownCpuMsPerCheckout} ms, the processes below it ${c.childrenCpuMsPerCheckout} ms)`;
    out.push(`CPU per checkout, every process of the system (its database included): ${c.cpuMsPerCheckout} ms${split}`);
  }
  if (c.sqlPerCheckout) {
    out.push(
      `SQL per checkout, as the database counted it: ${c.sqlPerCheckout.statements} statements in ${c.sqlPerCheckout.transactions} transactions`,
    );
  }
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
