import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type AdminServer, createAdminServer, createLogger } from "@shopmesh/platform";
import { describeWithPromtool, parseMetrics, pollUntil, promtool } from "@shopmesh/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { Shopper } from "../../shopper.js";

/**
 * The Grafana dashboard and the Prometheus alert rules shipped in deploy/: they parse, promtool
 * accepts the rules, and every metric they query is one the processes export (read from a live
 * /metrics of embedded mode after a checkout, which serves every service's series).
 */

const repo = (path: string) => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));
const DASHBOARD = repo("deploy/grafana/dashboards/shopmesh.json");
const ALERTS = repo("deploy/prometheus/alerts.yml");

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Array<{ expr?: string }>;
}

/**
 * The metric names a PromQL expression selects: identifiers that are neither functions nor
 * aggregations (followed by "("), nor keywords, nor label names (inside {…} or by/without (…)),
 * nor durations ([…]) or strings.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/\[[^\]]*\]/g, "[]")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const keywords = new Set(["and", "or", "unless", "bool", "offset"]);
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w$.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = m[1] as string;
    if (!keywords.has(name) && !/^\d/.test(name)) names.add(name);
  }
  return [...names];
}

let mesh: EmbeddedMesh;
let admin: AdminServer;
/** The sample names of embedded mode's /metrics after a paid checkout. */
let exported: Set<string>;

beforeAll(async () => {
  mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
  admin = createAdminServer({ host: "127.0.0.1", port: 0, logger: createLogger({ level: "silent" }) });
  await admin.start();
  const shopper = await Shopper.signup(mesh.url, "dashboards@example.com");
  const products = await shopper.call<{ items: Array<{ id: string }> }>("GET", "/api/products");
  await shopper.addItem(products.body.items[0]!.id, 1);
  const placed = await shopper.checkout();
  expect((await shopper.waitFinal(placed.order_id)).status).toBe("paid");
  await pollUntil(async () => (await shopper.notifications()).length >= 2, { timeoutMs: 5_000, intervalMs: 20 });
  const res = await fetch(`${admin.url}/metrics`);
  exported = new Set(parseMetrics(await res.text()).map((s) => s.name));
});

afterAll(async () => {
  await admin?.stop();
  await mesh?.stop();
});

describe("metricNames", () => {
  it("finds the selected metrics of an expression and nothing else", () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (service, le) (rate(a_bucket{service=~"$service",code!="ok"}[$__rate_interval]))) / on (x) b_total > 0.5 and c',
      ).sort(),
    ).toEqual(["a_bucket", "b_total", "c"]);
  });
});

describe("the Grafana dashboard", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
    uid: string;
    panels: Panel[];
    templating: { list: Array<{ name: string; definition?: string }> };
  };
  const panels = dashboard.panels.filter((p) => p.type !== "row");
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? "" })));

  it("is a dashboard of panels with a query each and unique ids", () => {
    expect(dashboard.uid).toBe("shopmesh-overview");
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const p of panels) expect(p.targets?.length, p.title).toBeGreaterThan(0);
    for (const { panel, expr } of exprs) expect(metricNames(expr).length, `${panel}: ${expr}`).toBeGreaterThan(0);
  });

  it("covers RED per service, the saga's outcomes, the outbox backlog and the dead letters", () => {
    const all = exprs.map((e) => e.expr).join("\n");
    for (const name of [
      "shopmesh_rpc_server_duration_seconds_count",
      "shopmesh_rpc_server_duration_seconds_bucket",
      "shopmesh_orders_finished_total",
      "shopmesh_outbox_pending_events",
      "shopmesh_outbox_oldest_pending_age_seconds",
    ]) {
      expect(all).toContain(name);
    }
    expect(all).toContain('outcome="dead_lettered"');
  });

  it("queries only metrics the services export", () => {
    const variables = dashboard.templating.list.flatMap((v) => [...(v.definition ?? "").matchAll(/label_values\((\w+)/g)].map((m) => m[1]));
    const used = new Set([...exprs.flatMap((e) => metricNames(e.expr)), ...variables]);
    expect([...used].filter((n) => !exported.has(n as string))).toEqual([]);
  });
});

describe("the alert rules", () => {
  const rules = (
    parseYaml(readFileSync(ALERTS, "utf8")) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }
  ).groups.flatMap((g) => g.rules);

  it("alert on the error rate, the outbox's age and dead letters, with metrics the services export", () => {
    const alerts = rules.map((r) => r.alert);
    expect(alerts).toEqual(
      expect.arrayContaining(["ShopmeshRpcServerFaults", "ShopmeshEdgeServerErrors", "ShopmeshOutboxStale", "ShopmeshEventsDeadLettered"]),
    );
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      expect(
        names.filter((n) => !exported.has(n)),
        rule.alert,
      ).toEqual([]);
    }
  });
});

describeWithPromtool("the alert rules under promtool", () => {
  it("pass promtool check rules", async () => {
    const result = await promtool(["check", "rules", ALERTS]);
    expect(result.output).toContain("SUCCESS");
    expect(result.code).toBe(0);
  });
});
