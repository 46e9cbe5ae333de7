import { type CapturedSpan, type SpanCapture, SpanKind } from "@shopmesh/platform/testing";
import { expect } from "vitest";

/** The consumptions of a paid checkout's events, as "<service> <event type>". */
const paidCheckoutConsumers = [
  "catalog shop.order.v1.OrderPlaced",
  "cart shop.order.v1.OrderPlaced",
  "payment shop.order.v1.OrderPlaced",
  "payment shop.catalog.v1.StockReserved",
  "order shop.catalog.v1.StockReserved",
  "order shop.payment.v1.PaymentSucceeded",
  "notification shop.order.v1.OrderPaid",
];

const consumed = (s: CapturedSpan) => `${s.service} ${String(s.attributes["shopmesh.event.type"])}`;

/** The edge's root span of the checkout request (`POST /api/checkout`) among `spans`. */
function checkoutRoot(spans: readonly CapturedSpan[]): CapturedSpan | undefined {
  return spans.find((s) => s.kind === SpanKind.SERVER && s.service === "edge" && s.name === "POST /api/checkout");
}

/**
 * Waits (up to `timeoutMs`) until `capture` holds the whole trace of the paid checkout it saw
 * come in: the edge's span, every consumption of the saga's events, and the parent of every
 * span (spans of different processes arrive in batches of their own). Resolves to that trace.
 */
export async function paidCheckoutTrace(capture: SpanCapture, timeoutMs: number): Promise<CapturedSpan[]> {
  const deadline = Date.now() + timeoutMs;
  let trace: CapturedSpan[] = [];
  for (;;) {
    const spans = capture.spans();
    const root = checkoutRoot(spans);
    trace = root ? spans.filter((s) => s.traceId === root.traceId) : [];
    const ids = new Set(trace.map((s) => s.spanId));
    const seen = new Set(trace.filter((s) => s.kind === SpanKind.CONSUMER).map(consumed));
    const complete =
      root !== undefined &&
      paidCheckoutConsumers.every((c) => seen.has(c)) &&
      trace.every((s) => s === root || ids.has(s.parentSpanId ?? ""));
    if (complete || Date.now() > deadline) return trace;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What one paid checkout's trace must show: one trace id from the edge's span to the email, spans
 * of every service on the way, every span's parent in the trace, the gRPC server spans children of
 * the callers' client spans, database queries, and each consumer's span a child of the span that
 * published its event, the saga's steps chained through them.
 */
export function expectPaidCheckoutTrace(trace: readonly CapturedSpan[]): void {
  const root = checkoutRoot(trace);
  expect(root, "the edge's span of POST /api/checkout").toBeDefined();
  expect(root?.parentSpanId).toBeUndefined();
  expect(new Set(trace.map((s) => s.traceId))).toEqual(new Set([root?.traceId]));

  const services = new Set(trace.map((s) => s.service));
  for (const service of ["edge", "order", "cart", "catalog", "payment", "notification"]) expect(services, service).toContain(service);

  const byId = new Map(trace.map((s) => [s.spanId, s]));
  for (const s of trace) {
    if (s === root) continue;
    expect(byId.has(s.parentSpanId ?? ""), `parent of ${s.service} ${s.name}`).toBe(true);
  }

  // gRPC: the order's server span is the child of the edge's client span of PlaceOrder.
  const placeOrder = trace.find((s) => s.kind === SpanKind.SERVER && s.name === "shop.order.v1.OrderService/PlaceOrder");
  const placeOrderCall = byId.get(placeOrder?.parentSpanId ?? "");
  expect([placeOrderCall?.service, placeOrderCall?.kind, placeOrderCall?.name]).toEqual([
    "edge",
    SpanKind.CLIENT,
    "shop.order.v1.OrderService/PlaceOrder",
  ]);
  expect(trace.some((s) => s.service === "order" && s.kind === SpanKind.CLIENT && s.attributes["db.system.name"] === "postgresql")).toBe(
    true,
  );

  // Events: each consumer's span is the child of the span that published that event.
  const consumers = trace.filter((s) => s.kind === SpanKind.CONSUMER);
  expect(consumers.map(consumed)).toEqual(expect.arrayContaining(paidCheckoutConsumers));
  for (const consumer of consumers) {
    const producer = byId.get(consumer.parentSpanId ?? "");
    expect(producer?.kind, `parent of ${consumed(consumer)}`).toBe(SpanKind.PRODUCER);
    expect(producer?.attributes["messaging.message.id"]).toBe(consumer.attributes["messaging.message.id"]);
  }
  // The saga's steps chain: OrderPaid was published from the order's handling of PaymentSucceeded.
  const paidConsumer = consumers.find((s) => s.attributes["shopmesh.event.type"] === "shop.order.v1.OrderPaid");
  const paidProducer = byId.get(paidConsumer?.parentSpanId ?? "");
  const paidCause = byId.get(paidProducer?.parentSpanId ?? "");
  expect([paidCause?.service, paidCause?.attributes["shopmesh.event.type"]]).toEqual(["order", "shop.payment.v1.PaymentSucceeded"]);
}
