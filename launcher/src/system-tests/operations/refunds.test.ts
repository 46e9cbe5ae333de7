import { createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { demoCatalog } from "@shopmesh/catalog";
import { Code, ConnectError, closeClient, createClient, createMeshTls, type Envelope } from "@shopmesh/platform";
import { createTestClient, testMeshTls } from "@shopmesh/platform/testing";
import { OrderRefundedSchema, OrderRefundRequestedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentRefundedSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { reconcile } from "../../tools/reconcile.js";
import { type OrderJson, rest, Shopper, productStock } from "../../shopper.js";
import { matrixTokens } from "../security/authorization-matrix.js";

/**
 * Refunds end to end in embedded mode: an operator refunds a paid order through the edge's
 * REST route; the payment refunds through the provider, the order becomes REFUNDED or
 * PARTIALLY_REFUNDED, returned goods go back on sale, the shopper is emailed, and the books
 * reconcile.
 */

interface AdminOrderJson extends OrderJson {
  readonly refunded_cents: number;
  readonly refunds: ReadonlyArray<{ id: string; amount_cents: number; restock: boolean; completed: boolean; lines: unknown[] }>;
  /** On an error reply. */
  readonly field_violations: ReadonlyArray<{ field: string }>;
}

let mesh: EmbeddedMesh;
let operatorToken: string;
let emails = 0;
const published: Envelope[] = [];

function product(index: number) {
  const p = demoCatalog[index];
  if (!p) throw new Error(`demo catalog has no product #${index}`);
  return p;
}

/** The product's stock now, read signed in (past the edge's read cache): see productStock. */
const stock = (productId: string): Promise<number> => productStock(mesh.url, productId, operatorToken);

async function paidOrder(lines: Array<[productId: string, qty: number]>): Promise<{ shopper: Shopper; order: OrderJson }> {
  const shopper = await Shopper.signup(mesh.url, `refund-${++emails}@example.com`);
  for (const [id, qty] of lines) await shopper.addItem(id, qty);
  const placed = await shopper.checkout();
  const order = await shopper.waitFinal(placed.order_id);
  expect(order.status).toBe("paid");
  return { shopper, order };
}

const refund = (orderId: string, body: unknown, token: string | undefined = operatorToken) =>
  rest<AdminOrderJson>(mesh.url, "POST", `/api/admin/orders/${orderId}/refund`, { token, body });

const adminOrder = async (orderId: string) => {
  const res = await rest<AdminOrderJson>(mesh.url, "GET", `/api/admin/orders/${orderId}`, { token: operatorToken });
  expect(res.status).toBe(200);
  return res.body;
};

const waitStatus = (orderId: string, status: string) =>
  expect.poll(async () => (await adminOrder(orderId)).status, { timeout: 10_000, interval: 20 }).toBe(status);

function payment(orderId: string) {
  const payments = createTestClient(PaymentService, mesh.services.payment as string);
  return payments
    .listPayments({ orderId })
    .then((r) => r.items[0])
    .finally(() => closeClient(payments));
}

const eventsOf = (type: string, orderId: string) => published.filter((e) => e.type === type && e.key === orderId);

beforeAll(async () => {
  mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
  mesh.bus.subscribe(
    "refunds-tap",
    [OrderRefundRequestedSchema, PaymentRefundedSchema, OrderRefundedSchema].map((s) => s.typeName),
    async (e) => {
      published.push(e);
    },
  );
  operatorToken = (await matrixTokens({ services: mesh.services, tlsDir: mesh.tlsDir as string }, "refunds")).operator;
});

afterAll(async () => {
  await mesh?.stop();
});

describe("refunds", () => {
  it("refunds a whole order with its goods returned: refunded, payment refunded, stock back, the shopper emailed and watching", async () => {
    const p = product(0);
    const before = await stock(p.id);
    const { shopper, order } = await paidOrder([[p.id, 2]]);
    expect(await stock(p.id)).toBe(before - 2);

    // The shopper's order page follows the order past PAID.
    const connect = createConnectClient(OrderService, createConnectTransport({ baseUrl: mesh.url, httpVersion: "1.1" }));
    const seen: OrderStatus[] = [];
    const watching = (async () => {
      for await (const m of connect.streamOrders(
        { orderIds: [order.id], followRefunds: true },
        { headers: { authorization: `Bearer ${shopper.token}` }, timeoutMs: 15_000 },
      )) {
        if (m.update) seen.push(m.update.status);
      }
    })();
    await expect.poll(() => seen.length, { timeout: 5_000 }).toBeGreaterThan(0);

    const res = await refund(order.id, { restock: true, reason: "goods returned" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: order.id,
      refunds: [expect.objectContaining({ amount_cents: order.total_cents, restock: true })],
    });

    await waitStatus(order.id, "refunded");
    await watching; // the stream ends once the order is REFUNDED
    expect(seen).toEqual([OrderStatus.PAID, OrderStatus.REFUNDED]);

    const refunded = await shopper.order(order.id);
    expect(refunded.status).toBe("refunded");
    expect(refunded.history.map((h) => h.to_status)).toEqual(["pending", "stock_reserved", "paid", "refunded"]);
    expect((await adminOrder(order.id)).refunded_cents).toBe(order.total_cents);

    const paymentNow = await payment(order.id);
    expect([paymentNow?.status, paymentNow?.refundedCents]).toEqual([PaymentStatus.REFUNDED, order.total_cents]);
    await expect.poll(() => stock(p.id), { timeout: 5_000 }).toBe(before);
    await expect
      .poll(async () => (await shopper.notifications()).map((n) => n.kind).sort(), { timeout: 5_000 })
      .toEqual(["order_paid", "order_refunded", "welcome"]);
  });

  it("refunds by line, once per refund id, then the rest; goods not returned stay sold", async () => {
    const [a, b] = [product(1), product(3)];
    const [beforeA, beforeB] = [await stock(a.id), await stock(b.id)];
    const { shopper, order } = await paidOrder([
      [a.id, 2],
      [b.id, 1],
    ]);

    const part = { lines: [{ product_id: a.id, qty: 1 }], restock: false, reason: "damaged in transit", refund_id: "rma-1" };
    expect((await refund(order.id, part)).status).toBe(200);
    await waitStatus(order.id, "partially_refunded");
    const afterPart = await adminOrder(order.id);
    expect(afterPart.refunded_cents).toBe(a.priceCents);
    expect((await payment(order.id))?.refundedCents).toBe(a.priceCents);
    expect((await payment(order.id))?.status).toBe(PaymentStatus.SUCCEEDED);

    // The same refund again refunds nothing more; another use of its id is refused.
    const again = await refund(order.id, part);
    expect(again.status).toBe(200);
    expect(again.body.refunds).toHaveLength(1);
    expect((await refund(order.id, { ...part, restock: true })).status).toBe(409);

    // More than is left of a line, or a product the order does not have.
    const over = await refund(order.id, { lines: [{ product_id: a.id, qty: 2 }], restock: false, reason: "too many" });
    expect(over.status).toBe(400);
    expect(over.body.field_violations.map((v) => v.field)).toEqual(["lines[0].quantity"]);
    const stranger = await refund(order.id, { lines: [{ product_id: product(5).id, qty: 1 }], restock: false, reason: "x" });
    expect(stranger.status).toBe(400);
    expect(stranger.body.field_violations.map((v) => v.field)).toEqual(["lines[0].product_id"]);

    // The rest, returned.
    expect((await refund(order.id, { restock: true, reason: "customer returned the rest" })).status).toBe(200);
    await waitStatus(order.id, "refunded");
    const done = await adminOrder(order.id);
    expect(done.refunded_cents).toBe(order.total_cents);
    expect(done.history.map((h) => h.to_status).slice(-2)).toEqual(["partially_refunded", "refunded"]);
    const paid = await payment(order.id);
    expect([paid?.status, paid?.refundedCents]).toEqual([PaymentStatus.REFUNDED, order.total_cents]);
    // One unit of A was not returned: it stays sold.
    await expect.poll(() => stock(a.id), { timeout: 5_000 }).toBe(beforeA - 1);
    expect(await stock(b.id)).toBe(beforeB);
    await expect
      .poll(async () => (await shopper.notifications()).filter((n) => n.kind === "order_refunded").length, { timeout: 5_000 })
      .toBe(2);
  });

  it("a refund of the whole payment that overtakes an operator's refund completes it: the money is refunded once, its goods restocked", async () => {
    const [a, b] = [product(6), product(7)];
    const [beforeA, beforeB] = [await stock(a.id), await stock(b.id)];
    const { order } = await paidOrder([
      [a.id, 1],
      [b.id, 1],
    ]);
    const chaos = (faults: object, reason: string) =>
      rest(mesh.url, "POST", "/api/admin/chaos/order", { token: operatorToken, body: { faults, reason } });
    // Order's broker away: its OrderRefundRequested waits in its outbox while payment refunds the lot.
    expect((await chaos({ broker: "code=UNAVAILABLE" }, "hold the refund request")).status).toBe(200);
    try {
      const part = { lines: [{ product_id: a.id, qty: 1 }], restock: true, reason: "returned", refund_id: "rma-race" };
      expect((await refund(order.id, part)).status).toBe(200);
      const payments = createTestClient(PaymentService, mesh.services.payment as string);
      try {
        const whole = await payments.refund({ orderId: order.id, reason: "chargeback" });
        expect([whole.payment?.status, whole.payment?.refundedCents]).toEqual([PaymentStatus.REFUNDED, order.total_cents]);
      } finally {
        closeClient(payments);
      }
      await waitStatus(order.id, "refunded");
    } finally {
      expect((await chaos({}, "broker back")).status).toBe(200);
    }
    const done = await adminOrder(order.id);
    expect(done.refunded_cents).toBe(order.total_cents);
    expect(done.refunds.map((r) => [r.amount_cents, r.restock, r.completed])).toEqual([
      [a.priceCents, true, true],
      [b.priceCents, false, true],
    ]);
    // The held request reaches payment, which finds nothing left: no second refund.
    await expect.poll(() => stock(a.id), { timeout: 10_000 }).toBe(beforeA);
    await new Promise((r) => setTimeout(r, 300));
    expect(eventsOf(OrderRefundRequestedSchema.typeName, order.id)).toHaveLength(1);
    expect(eventsOf(PaymentRefundedSchema.typeName, order.id)).toHaveLength(1);
    expect(eventsOf(OrderRefundedSchema.typeName, order.id)).toHaveLength(2);
    expect((await payment(order.id))?.refundedCents).toBe(order.total_cents);
    expect(await stock(b.id)).toBe(beforeB - 1);
  });

  it("a refund asked for twice refunds once; a refunded order refuses more", async () => {
    const { order } = await paidOrder([[product(4).id, 1]]);
    const body = { restock: false, reason: "duplicate click" };
    const [first, second] = await Promise.all([refund(order.id, body), refund(order.id, body)]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    await waitStatus(order.id, "refunded");
    expect((await refund(order.id, body)).status).toBe(409);
    await new Promise((r) => setTimeout(r, 200));
    expect(eventsOf(PaymentRefundedSchema.typeName, order.id)).toHaveLength(1);
    expect(eventsOf(OrderRefundedSchema.typeName, order.id)).toHaveLength(1);
    expect((await payment(order.id))?.refundedCents).toBe(order.total_cents);
    const audit = await rest<{ items: Array<{ service: string; action: string; target: string; reason: string }> }>(
      mesh.url,
      "GET",
      "/api/admin/audit?service=order",
      { token: operatorToken },
    );
    expect(audit.status).toBe(200);
    expect(audit.body.items.filter((a) => a.target === order.id).map((a) => [a.service, a.action, a.reason])).toEqual([
      ["order", "order.refund", "duplicate click"],
    ]);
  });

  it("names the missing reason and refuses an unpaid or unknown order", async () => {
    const { order } = await paidOrder([[product(6).id, 1]]);
    const noReason = await refund(order.id, { restock: false, reason: " " });
    expect(noReason.status).toBe(400);
    expect(noReason.body.field_violations.map((v) => v.field)).toEqual(["reason"]);
    expect((await refund("01900000-0000-7000-8000-000000000000", { restock: false, reason: "x" })).status).toBe(404);
  });

  it("is for operators only: a shopper's token is 403 over REST and PERMISSION_DENIED over gRPC, no token 401", async () => {
    const { shopper, order } = await paidOrder([[product(7).id, 1]]);
    expect((await refund(order.id, { restock: false, reason: "mine" }, shopper.token)).status).toBe(403);
    const anonymous = await rest(mesh.url, "POST", `/api/admin/orders/${order.id}/refund`, { body: { restock: false, reason: "mine" } });
    expect(anonymous.status).toBe(401);
    expect((await rest(mesh.url, "GET", `/api/admin/orders/${order.id}`, { token: shopper.token })).status).toBe(403);
    expect((await rest(mesh.url, "GET", `/api/admin/orders/${order.id}`)).status).toBe(401);

    // gRPC through the edge, as a mobile client would.
    const viaEdge = createClient(OrderService, `127.0.0.1:${mesh.edgePort}`, { maxAttempts: 1 });
    // On the order service's own port, presenting the edge's certificate as the edge does.
    const edgeTls = mesh.tlsDir ? createMeshTls({ dir: mesh.tlsDir, workload: "edge" }) : undefined;
    const onPort = createClient(OrderService, mesh.services.order as string, { tls: edgeTls, maxAttempts: 1 });
    try {
      const metadata = { authorization: `Bearer ${shopper.token}` };
      for (const client of [viaEdge, onPort]) {
        const err = await client.refundOrder({ orderId: order.id, restock: false, reason: "mine" }, { metadata }).catch((e: unknown) => e);
        expect(ConnectError.from(err).code, `${client === viaEdge ? "edge" : "port"}: ${String(err)}`).toBe(Code.PermissionDenied);
      }
    } finally {
      closeClient(viaEdge);
      closeClient(onPort);
    }
    expect((await shopper.order(order.id)).status).toBe("paid");
  });

  it("leaves the books balanced: money charged less refunded is what orders paid less refunded, stock conserved", async () => {
    const report = await reconcile(
      { order: mesh.services.order as string, payment: mesh.services.payment as string, catalog: mesh.services.catalog as string },
      { stuckAfterMs: 60_000, settleMs: 0, tls: testMeshTls("reconcile") },
    );
    expect(report.discrepancies).toEqual([]);
    expect(report.orders.REFUNDED).toBeGreaterThanOrEqual(3);
    const eur = Object.values(report.money)[0];
    expect(eur?.refunded).toBeGreaterThan(0);
    expect(eur && eur.charged - eur.refunded).toBe(eur && eur.paid - eur.refundedByOrders);
  });
});
