import { demoCatalog } from "@shopmesh/catalog";
import { closeClient, type Envelope } from "@shopmesh/platform";
import { createTestClient, testMeshTls } from "@shopmesh/platform/testing";
import { OrderCancelledSchema, OrderRefundRequestedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { PaymentRefundedSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { type OrderJson, rest, Shopper, productStock } from "../../shopper.js";
import { reconcile } from "../../tools/reconcile.js";
import { matrixTokens } from "../security/authorization-matrix.js";

/**
 * An operator cancels an order stuck in checkout, in embedded mode, through the edge's REST
 * routes: the payment service is slowed on StockReserved (a live fault), so the order waits
 * STOCK_RESERVED; the operator cancels it; the stock goes back on sale, the shopper is emailed,
 * the charge that still goes through afterwards is refunded, and the books reconcile. The
 * operator finds the order by the shopper's email and reads its notifications.
 */

interface AdminOrderJson extends OrderJson {
  readonly email: string;
  /** On an error reply. */
  readonly field_violations: ReadonlyArray<{ field: string }>;
}

let mesh: EmbeddedMesh;
let operatorToken: string;
let shoppers = 0;
const published: Envelope[] = [];

function product(index: number) {
  const p = demoCatalog[index];
  if (!p) throw new Error(`demo catalog has no product #${index}`);
  return p;
}

/** The product's stock now, read signed in (past the edge's read cache): see productStock. */
const stock = (productId: string): Promise<number> => productStock(mesh.url, productId, operatorToken);

const cancel = (orderId: string, body: unknown, token: string | undefined = operatorToken) =>
  rest<AdminOrderJson>(mesh.url, "POST", `/api/admin/orders/${orderId}/cancel`, { token, body });

const adminOrder = async (orderId: string) => {
  const res = await rest<AdminOrderJson>(mesh.url, "GET", `/api/admin/orders/${orderId}`, { token: operatorToken });
  expect(res.status).toBe(200);
  return res.body;
};

const waitStatus = (orderId: string, status: string) =>
  expect.poll(async () => (await adminOrder(orderId)).status, { timeout: 10_000, interval: 20 }).toBe(status);

/** Payment's live faults, switched as an operator does from the console. */
const paymentFaults = async (faults: unknown, reason: string) => {
  const res = await rest(mesh.url, "POST", "/api/admin/chaos/payment", { token: operatorToken, body: { faults, reason } });
  expect(res.status).toBe(200);
};

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
    "cancel-tap",
    [OrderCancelledSchema, OrderRefundRequestedSchema, PaymentRefundedSchema].map((s) => s.typeName),
    async (e) => {
      published.push(e);
    },
  );
  operatorToken = (await matrixTokens({ services: mesh.services, tlsDir: mesh.tlsDir as string }, "cancel")).operator;
});

afterAll(async () => {
  await mesh?.stop();
});

describe("an operator's cancel", () => {
  let stuck: { shopper: Shopper; orderId: string; productId: string; before: number };

  it("cancels an order stuck in checkout: stock released, the shopper emailed, the late charge refunded", async () => {
    const p = product(2);
    const before = await stock(p.id);
    // Payment hears of the reservation only after a while: the order waits, STOCK_RESERVED.
    await paymentFaults({ events: { "shop.catalog.v1.StockReserved": "delay=3s" } }, "cancel drill");
    const shopper = await Shopper.signup(mesh.url, `Cancel-${++shoppers}@Example.com`);
    await shopper.addItem(p.id, 2);
    const placed = await shopper.checkout();
    await waitStatus(placed.order_id, "stock_reserved");
    expect(await stock(p.id)).toBe(before - 2);
    stuck = { shopper, orderId: placed.order_id, productId: p.id, before };

    const res = await cancel(placed.order_id, { reason: "stuck in checkout" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: placed.order_id, status: "cancelled", cancel_reason: "operator" });
    expect(res.body.history.map((h) => `${h.from_status}→${h.to_status}:${h.reason}`).slice(-1)).toEqual([
      "stock_reserved→cancelled:operator",
    ]);
    await paymentFaults({}, "cancel drill over");

    await expect.poll(() => stock(p.id), { timeout: 10_000 }).toBe(before);
    await expect
      .poll(async () => (await shopper.notifications()).map((n) => n.kind).sort(), { timeout: 10_000 })
      .toEqual(["order_cancelled", "welcome"]);
    // The delayed StockReserved still made payment charge: that charge is given back.
    await expect.poll(async () => (await payment(placed.order_id))?.status, { timeout: 15_000, interval: 50 }).toBe(PaymentStatus.REFUNDED);
    expect(eventsOf(OrderRefundRequestedSchema.typeName, placed.order_id)).toHaveLength(1);
    expect(eventsOf(OrderCancelledSchema.typeName, placed.order_id)).toHaveLength(1);
    expect((await shopper.order(placed.order_id)).status).toBe("cancelled");

    // Cancelling again answers with the order as it is.
    const again = await cancel(placed.order_id, { reason: "again" });
    expect(again.status).toBe(200);
    expect(again.body.history).toHaveLength(res.body.history.length);
  });

  it("finds the order by the shopper's email over REST, with its notifications and the product's stock adjustments", async () => {
    const { shopper, orderId, productId } = stuck;
    const list = await rest(
      mesh.url,
      "GET",
      `/api/admin/orders?status=cancelled&status=on_hold&email=${encodeURIComponent(shopper.email.toUpperCase())}`,
      {
        token: operatorToken,
      },
    );
    expect(list.status).toBe(200);
    expect(list.body.items.map((o: AdminOrderJson) => [o.id, o.status, o.email.toLowerCase()])).toEqual([
      [orderId, "cancelled", shopper.email.toLowerCase()],
    ]);
    const paid = await rest(mesh.url, "GET", `/api/admin/orders?status=paid&email=${encodeURIComponent(shopper.email)}`, {
      token: operatorToken,
    });
    expect(paid.body.items).toEqual([]);
    expect((await rest(mesh.url, "GET", "/api/admin/orders?status=shipped", { token: operatorToken })).status).toBe(400);

    const notes = await rest(mesh.url, "GET", `/api/admin/orders/${orderId}/notifications`, { token: operatorToken });
    expect(notes.status).toBe(200);
    expect(notes.body.items.map((n: { kind: string; order_id: string }) => [n.kind, n.order_id])).toEqual([["order_cancelled", orderId]]);

    const adjustments = await rest(mesh.url, "GET", `/api/admin/stock/${productId}/adjustments?page_size=1`, { token: operatorToken });
    expect(adjustments.status).toBe(200);
    expect(adjustments.body.items).toHaveLength(1);
    expect(adjustments.body.items[0]).toMatchObject({ product_id: productId });
  });

  it("refuses a paid order (409), a missing reason (400, field reason) and an unknown order (404)", async () => {
    const shopper = await Shopper.signup(mesh.url, `cancel-${++shoppers}@example.com`);
    await shopper.addItem(product(3).id, 1);
    const placed = await shopper.checkout();
    expect((await shopper.waitFinal(placed.order_id)).status).toBe("paid");
    expect((await cancel(placed.order_id, { reason: "too late" })).status).toBe(409);
    const noReason = await cancel(placed.order_id, { reason: " " });
    expect(noReason.status).toBe(400);
    expect(noReason.body.field_violations.map((v) => v.field)).toEqual(["reason"]);
    expect((await cancel("01900000-0000-7000-8000-000000000000", { reason: "x" })).status).toBe(404);
    expect((await shopper.order(placed.order_id)).status).toBe("paid");
  });

  it("is for operators only: a shopper's token is 403, no token 401", async () => {
    const { shopper, orderId } = stuck;
    expect((await cancel(orderId, { reason: "mine" }, shopper.token)).status).toBe(403);
    expect((await rest(mesh.url, "POST", `/api/admin/orders/${orderId}/cancel`, { body: { reason: "mine" } })).status).toBe(401);
    expect((await rest(mesh.url, "GET", `/api/admin/orders/${orderId}/notifications`, { token: shopper.token })).status).toBe(403);
    expect((await rest(mesh.url, "GET", "/api/admin/orders?status=paid", { token: shopper.token })).status).toBe(403);
  });

  it("leaves the books balanced", async () => {
    const report = await reconcile(
      { order: mesh.services.order as string, payment: mesh.services.payment as string, catalog: mesh.services.catalog as string },
      { stuckAfterMs: 60_000, settleMs: 0, tls: testMeshTls("reconcile") },
    );
    expect(report.discrepancies).toEqual([]);
    expect(report.orders.CANCELLED).toBeGreaterThanOrEqual(1);
  });
});
