import { type AdminServer, createAdminServer, createLogger } from "@shopmesh/platform";
import { describeWithPromtool, type MetricSample, metricValue, parseMetrics, pollUntil, promtool } from "@shopmesh/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { Shopper } from "../../shopper.js";

/**
 * The metrics of embedded mode: one admin server, every service's series labelled by service,
 * moving as a checkout and a declined payment go through the saga.
 */

const DECLINED_CARD = "4000 0000 0000 0002";

let mesh: EmbeddedMesh;
let admin: AdminServer;
let shoppers = 0;

beforeAll(async () => {
  mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
  admin = createAdminServer({ host: "127.0.0.1", port: 0, logger: createLogger({ level: "silent" }) });
  await admin.start();
});

afterAll(async () => {
  await admin?.stop();
  await mesh?.stop();
});

async function scrapeText(): Promise<string> {
  const res = await fetch(`${admin.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

const scrape = async () => parseMetrics(await scrapeText());

/** A checkout of one unit of the first product, followed until the order is final. */
async function checkout(cardNumber?: string): Promise<string> {
  const shopper = await Shopper.signup(mesh.url, `metrics-${++shoppers}@example.com`);
  const products = await shopper.call<{ items: Array<{ id: string }> }>("GET", "/api/products");
  await shopper.addItem(products.body.items[0]!.id, 1);
  const placed = await shopper.checkout(cardNumber ? { cardNumber } : {});
  return (await shopper.waitFinal(placed.order_id)).status;
}

/** What a checkout moves, read from two scrapes. */
function delta(before: MetricSample[], after: MetricSample[]) {
  return (name: string, labels: Record<string, string> = {}) => metricValue(after, name, labels) - metricValue(before, name, labels);
}

/** Waits until the consumers downstream of the final status (notification) have counted their event. */
async function settled(before: MetricSample[], type: string): Promise<MetricSample[]> {
  const labels = { service: "notification", type, outcome: "handled" };
  let after: MetricSample[] = [];
  await pollUntil(
    async () => {
      after = await scrape();
      return delta(before, after)("shopmesh_events_consumed_total", labels) >= 1;
    },
    { timeoutMs: 2_000, intervalMs: 20 },
  );
  return after;
}

describe("embedded mode's /metrics", () => {
  it("counts a paid checkout: the order's outcome, the saga's events per consumer, the RPCs on both sides", async () => {
    const before = await scrape();
    expect(await checkout()).toBe("paid");
    const after = await settled(before, "shop.order.v1.OrderPaid");
    const d = delta(before, after);

    expect(d("shopmesh_orders_placed_total", { service: "order" })).toBe(1);
    expect(d("shopmesh_orders_finished_total", { service: "order", status: "paid" })).toBe(1);
    expect(d("shopmesh_orders_finished_total", { service: "order", status: "cancelled" })).toBe(0);

    const consumed = (service: string, type: string) => d("shopmesh_events_consumed_total", { service, type, outcome: "handled" });
    expect(consumed("catalog", "shop.order.v1.OrderPlaced")).toBe(1);
    expect(consumed("cart", "shop.order.v1.OrderPlaced")).toBe(1);
    expect(consumed("payment", "shop.catalog.v1.StockReserved")).toBe(1);
    expect(consumed("order", "shop.catalog.v1.StockReserved")).toBe(1);
    expect(consumed("order", "shop.payment.v1.PaymentSucceeded")).toBe(1);
    expect(consumed("notification", "shop.order.v1.OrderPaid")).toBe(1);
    expect(d("shopmesh_outbox_published_total", { service: "order", type: "shop.order.v1.OrderPlaced" })).toBe(1);
    expect(d("shopmesh_outbox_published_total", { service: "payment", type: "shop.payment.v1.PaymentSucceeded" })).toBe(1);

    const placeOrder = { method: "shop.order.v1.OrderService/PlaceOrder", code: "ok" };
    expect(d("shopmesh_rpc_server_duration_seconds_count", { service: "order", ...placeOrder })).toBe(1);
    expect(d("shopmesh_rpc_client_duration_seconds_count", { service: "edge", ...placeOrder })).toBe(1);
    const getUserCart = { service: "order", method: "shop.cart.v1.CartService/GetUserCart", code: "ok" };
    expect(d("shopmesh_rpc_client_duration_seconds_count", getUserCart)).toBe(1);
    expect(d("shopmesh_rpc_server_duration_seconds_count", { ...getUserCart, service: "cart" })).toBe(1);
    expect(d("shopmesh_http_server_duration_seconds_count", { service: "edge", route: "POST /api/checkout", code: "201" })).toBe(1);

    for (const service of ["auth", "catalog", "order", "payment"]) {
      expect(after.some((s) => s.name === "shopmesh_outbox_pending_events" && s.labels.service === service)).toBe(true);
    }
    for (const target of ["shop.cart.v1.CartService", "shop.catalog.v1.CatalogService", "shop.payment.v1.PaymentService"]) {
      expect(metricValue(after, "shopmesh_circuit_breaker_state", { service: "order", target, state: "closed" })).toBe(1);
    }
  });

  it("counts a declined payment as a cancellation with its reason", async () => {
    const before = await scrape();
    expect(await checkout(DECLINED_CARD)).toBe("cancelled");
    const after = await settled(before, "shop.order.v1.OrderCancelled");
    const d = delta(before, after);

    expect(d("shopmesh_orders_finished_total", { service: "order", status: "cancelled", reason: "payment_declined" })).toBe(1);
    expect(d("shopmesh_orders_finished_total", { service: "order", status: "paid" })).toBe(0);
    expect(d("shopmesh_events_consumed_total", { service: "order", type: "shop.payment.v1.PaymentFailed", outcome: "handled" })).toBe(1);
    // The catalog releases the stock while the cancellation travels on to notification: not
    // necessarily done by the time notification counted it.
    const released = async () => {
      const now = delta(before, await scrape());
      return [
        now("shopmesh_events_consumed_total", { service: "catalog", type: "shop.payment.v1.PaymentFailed", outcome: "handled" }),
        now("shopmesh_outbox_published_total", { service: "catalog", type: "shop.catalog.v1.StockReleased" }),
      ];
    };
    await expect.poll(released).toEqual([1, 1]);
  });
});

describeWithPromtool("embedded mode's /metrics under promtool", () => {
  it("passes promtool check metrics after a checkout", async () => {
    await checkout();
    const result = await promtool(["check", "metrics"], await scrapeText());
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});
