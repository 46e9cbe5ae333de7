import { pollUntil } from "@shopmesh/platform/testing/poll";
import { type CapturedSpan, type SpanCapture, SpanKind } from "@shopmesh/platform/testing/span-capture";

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
  let trace: CapturedSpan[] = [];
  await pollUntil(
    () => {
      const spans = capture.spans();
      const root = checkoutRoot(spans);
      trace = root ? spans.filter((s) => s.traceId === root.traceId) : [];
      const ids = new Set(trace.map((s) => s.spanId));
      const seen = new Set(trace.filter((s) => s.kind === SpanKind.CONSUMER).map(consumed));
      return (
        root !== undefined &&
        paidCheckoutConsumers.every((c) => seen.has(c)) &&
        trace.every((s) => s === root || ids.has(s.parentSpanId ?? ""))
      );
    },
    { timeoutMs, intervalMs: 50 },
  );
  return trace;
}

/**
 * What one paid checkout's trace fails to show, a line each (none when it shows everything): one
 * trace id from the edge's span to the email, spans of every service on the way, every span's
 * parent in the trace, the gRPC server spans children of the callers' client spans, database
 * queries, and each consumer's span a child of the span that published its event, the saga's
 * steps chained through them.
 */
export function paidCheckoutTraceProblems(trace: readonly CapturedSpan[]): string[] {
  const root = checkoutRoot(trace);
  if (!root) return ["no span of the edge for POST /api/checkout"];
  const problems: string[] = [];
  const describe = (s: CapturedSpan | undefined) => (s ? `${s.service} ${SpanKind[s.kind]} ${s.name}` : "none");
  if (root.parentSpanId !== undefined) problems.push(`the edge's span of POST /api/checkout has a parent (${root.parentSpanId})`);
  const otherTraces = new Set(trace.map((s) => s.traceId).filter((id) => id !== root.traceId));
  if (otherTraces.size > 0) problems.push(`spans of other traces: ${[...otherTraces].join(", ")}`);

  const services = new Set(trace.map((s) => s.service));
  for (const service of ["edge", "order", "cart", "catalog", "payment", "notification"]) {
    if (!services.has(service)) problems.push(`no span of ${service}`);
  }

  const byId = new Map(trace.map((s) => [s.spanId, s]));
  for (const s of trace) {
    if (s !== root && !byId.has(s.parentSpanId ?? "")) problems.push(`the parent of ${s.service} ${s.name} is not in the trace`);
  }

  // gRPC: the order's server span is the child of the edge's client span of PlaceOrder.
  const placeOrder = trace.find((s) => s.kind === SpanKind.SERVER && s.name === "shop.order.v1.OrderService/PlaceOrder");
  const placeOrderCall = byId.get(placeOrder?.parentSpanId ?? "");
  if (
    placeOrderCall?.service !== "edge" ||
    placeOrderCall.kind !== SpanKind.CLIENT ||
    placeOrderCall.name !== "shop.order.v1.OrderService/PlaceOrder"
  ) {
    problems.push(`the parent of order's PlaceOrder server span is not the edge's client span of PlaceOrder: ${describe(placeOrderCall)}`);
  }
  if (!trace.some((s) => s.service === "order" && s.kind === SpanKind.CLIENT && s.attributes["db.system.name"] === "postgresql")) {
    problems.push("no span of a database query of order");
  }

  // Events: each consumer's span is the child of the span that published that event.
  const consumers = trace.filter((s) => s.kind === SpanKind.CONSUMER);
  const seen = new Set(consumers.map(consumed));
  for (const c of paidCheckoutConsumers) if (!seen.has(c)) problems.push(`no consumption: ${c}`);
  for (const consumer of consumers) {
    const producer = byId.get(consumer.parentSpanId ?? "");
    if (producer?.kind !== SpanKind.PRODUCER) {
      problems.push(`the parent of ${consumed(consumer)} is not a producer span: ${describe(producer)}`);
    } else if (producer.attributes["messaging.message.id"] !== consumer.attributes["messaging.message.id"]) {
      problems.push(`the parent of ${consumed(consumer)} published another message`);
    }
  }
  // The saga's steps chain: OrderPaid was published from the order's handling of PaymentSucceeded.
  const paidConsumer = consumers.find((s) => s.attributes["shopmesh.event.type"] === "shop.order.v1.OrderPaid");
  const paidProducer = byId.get(paidConsumer?.parentSpanId ?? "");
  const paidCause = byId.get(paidProducer?.parentSpanId ?? "");
  if (paidCause?.service !== "order" || paidCause.attributes["shopmesh.event.type"] !== "shop.payment.v1.PaymentSucceeded") {
    problems.push(`OrderPaid was not published from order's handling of PaymentSucceeded: ${describe(paidCause)}`);
  }
  return problems;
}
