import { describeWithPromtool, metricValue, parseMetrics, promtool, receiveOtlpSpans, waitUntil } from "@shopmesh/platform/testing";
import { afterAll, expect, it } from "vitest";
import { describeDistributed } from "../distributed-fixture.test-support.js";
import { paidCheckoutTrace, paidCheckoutTraceProblems } from "./checkout-trace.js";

/**
 * Telemetry of distributed mode, every service its own process: the processes export their spans
 * over OTLP to a receiver in this test, which keeps them in memory; each process's /metrics is
 * scraped on its own admin port.
 */

const DECLINED_CARD = "4000 0000 0000 0002";

// Started before the mesh, whose processes take their environment from this one's.
const receiver = await receiveOtlpSpans();
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
process.env.OTEL_TRACES_SAMPLER = "always_on";
delete process.env.OTEL_TRACES_EXPORTER;
delete process.env.OTEL_SERVICE_NAME;

afterAll(() => receiver.close());

describeDistributed("telemetry in distributed mode", (fx) => {
  const scrape = async (process: string) => {
    const res = await fetch(`${fx.mesh.adminUrl(process)}/metrics`);
    expect(res.status, process).toBe(200);
    return res.text();
  };

  /** A checkout of one unit of the first product, followed until the order is final. */
  async function checkout(name: string, cardNumber?: string): Promise<string> {
    const shopper = await fx.signup(name);
    const products = await shopper.call<{ items: Array<{ id: string }> }>("GET", "/api/products");
    await shopper.addItem(products.body.items[0]!.id, 1);
    const placed = await shopper.checkout(cardNumber ? { cardNumber } : {});
    return (await shopper.waitFinal(placed.order_id, { timeoutMs: 30_000 })).status;
  }

  /** Waits until the sum of `name`{`labels`} on `process`'s /metrics exceeds its value in `before`; resolves to that scrape. */
  async function grown(process: string, before: string, name: string, labels: Record<string, string>): Promise<string> {
    const base = metricValue(parseMetrics(before), name, labels);
    let text = "";
    await waitUntil(
      async () => {
        text = await scrape(process);
        return metricValue(parseMetrics(text), name, labels) > base;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `${name} ${JSON.stringify(labels)} to grow on ${process}` },
    );
    return text;
  }

  it("follows a checkout across the processes and Kafka as one trace, consumers parented to the producing spans", async () => {
    receiver.reset();
    expect(await checkout("traced")).toBe("paid");
    // Each process sends its spans in batches (every 5 s by default).
    expect(paidCheckoutTraceProblems(await paidCheckoutTrace(receiver, 30_000))).toEqual([]);
  }, 60_000);

  it("counts a paid checkout and a declined payment in the order's and the consumers' processes", async () => {
    const delta = (before: string, after: string) => (name: string, labels: Record<string, string>) =>
      metricValue(parseMetrics(after), name, labels) - metricValue(parseMetrics(before), name, labels);
    const order0 = await scrape("order");
    const notification0 = await scrape("notification");
    expect(await checkout("counted")).toBe("paid");
    await grown("notification", notification0, "shopmesh_events_consumed_total", { type: "shop.order.v1.OrderPaid", outcome: "handled" });
    const order1 = await scrape("order");
    const d1 = delta(order0, order1);
    expect(d1("shopmesh_orders_placed_total", { service: "order" })).toBe(1);
    expect(d1("shopmesh_orders_finished_total", { status: "paid" })).toBe(1);
    expect(d1("shopmesh_events_consumed_total", { type: "shop.payment.v1.PaymentSucceeded", outcome: "handled" })).toBe(1);
    expect(d1("shopmesh_rpc_server_duration_seconds_count", { method: "shop.order.v1.OrderService/PlaceOrder", code: "ok" })).toBe(1);

    const catalog1 = await scrape("catalog");
    expect(await checkout("declined", DECLINED_CARD)).toBe("cancelled");
    const order2 = await scrape("order");
    const d2 = delta(order1, order2);
    expect(d2("shopmesh_orders_finished_total", { status: "cancelled", reason: "payment_declined" })).toBe(1);
    expect(d2("shopmesh_orders_finished_total", { status: "paid" })).toBe(0);
    // The catalog releases the stock on PaymentFailed and announces it.
    const released = { type: "shop.catalog.v1.StockReleased" };
    const catalog2 = await grown("catalog", catalog1, "shopmesh_outbox_published_total", released);
    const d3 = delta(catalog1, catalog2);
    expect(d3("shopmesh_events_consumed_total", { type: "shop.payment.v1.PaymentFailed", outcome: "handled" })).toBe(1);
    expect(d3("shopmesh_outbox_published_total", released)).toBe(1);
  }, 90_000);

  describeWithPromtool("every process's /metrics under promtool", () => {
    it("passes promtool check metrics for each service and the edge", async () => {
      for (const process of fx.mesh.processes) {
        const result = await promtool(["check", "metrics"], await scrape(process));
        expect([process, result.output, result.code]).toEqual([process, "", 0]);
      }
    });
  });
});
