import { create } from "@bufbuild/protobuf";
import { demoCatalog } from "@shopmesh/catalog";
import { closeClient, createEnvelope, createKafkaBus, createLogger, uuidv7 } from "@shopmesh/platform";
import { OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentSucceededSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { expect, it } from "vitest";
import { serviceNames } from "../../distributed-mesh.js";
import { rest } from "../../shopper.js";
import { describeDistributed } from "../distributed-fixture.test-support.js";
import { createTestClient } from "@shopmesh/platform/testing";

/**
 * Distributed mode end to end: every service and the edge as its own process, each service on
 * its own Postgres database, the events through a Kafka-protocol broker of this file's own
 * (librdkafka's mock), driven through the edge's REST routes.
 */

const DECLINED_CARD = "4000 0000 0000 0002";

describeDistributed("distributed mode", (t) => {
  const { unexpectedExits } = t;
  const signup = (name: string) => t.signup(name);
  const stock = (productId: string) => t.stock(productId);
  const notePids = () => t.notePids();

  it("runs each service as its own process on its own database", () => {
    expect(Object.keys(t.mesh.services)).toEqual([...serviceNames]);
    expect(Object.values(t.mesh.databases)).toEqual(serviceNames.map((s) => `${t.dbPrefix}_${s}`));
    const running = t.mesh.processes.map((name) => t.mesh.pid(name));
    expect(new Set(running).size).toBe(serviceNames.length + 1);
    expect(running).not.toContain(process.pid);
    expect(t.mesh.url).toMatch(/^http:\/\/localhost:\d+$/);
  });

  it("signs up, checks out 2 units and sees the order paid, the email sent, the stock down by 2 and the cart empty", async () => {
    const shopper = await signup("ada");
    const list = await rest<{ items: Array<{ id: string; stock: number; price_cents: number }> }>(t.mesh.url, "GET", "/api/products");
    expect(list.status).toBe(200);
    const target = list.body.items[0];
    if (!target) throw new Error("no products listed");

    await shopper.addItem(target.id, 2);
    const placed = await shopper.checkout();
    expect(placed).toEqual({ order_id: expect.any(String), status: "pending" });

    const order = await shopper.waitFinal(placed.order_id, { timeoutMs: 30_000, intervalMs: 20 });
    expect(order).toMatchObject({ id: placed.order_id, status: "paid", cancel_reason: "", total_cents: target.price_cents * 2 });
    expect(order.history.map((h) => h.to_status)).toEqual(["pending", "stock_reserved", "paid"]);
    expect(await stock(target.id)).toBe(target.stock - 2);
    // The cart empties when cart consumes OrderPlaced, which may come after the payment.
    await expect.poll(async () => (await shopper.cart()).items, { timeout: 15_000, interval: 50 }).toEqual([]);
    await expect
      .poll(async () => (await shopper.notifications()).map((n) => n.kind).sort(), { timeout: 15_000, interval: 50 })
      .toEqual(["order_paid", "welcome"]);
  });

  it("cancels an order paid with a declined card (payment_declined) and gives the stock back", async () => {
    const shopper = await signup("declined");
    const product = demoCatalog[1];
    if (!product) throw new Error("demo catalog too small");
    const before = await stock(product.id);

    await shopper.addItem(product.id, 1);
    const placed = await shopper.checkout({ cardNumber: DECLINED_CARD });
    const order = await shopper.waitFinal(placed.order_id, { timeoutMs: 30_000, intervalMs: 20 });
    expect(order).toMatchObject({ status: "cancelled", cancel_reason: "payment_declined" });
    await expect.poll(() => stock(product.id), { timeout: 15_000, interval: 50 }).toBe(before);
  });

  it("keeps an order waiting while payment is down (kill -9) and pays it once payment is back", async () => {
    const shopper = await signup("patient");
    const product = demoCatalog[2];
    if (!product) throw new Error("demo catalog too small");
    await shopper.addItem(product.id, 1);

    const killed = await t.mesh.kill("payment", "SIGKILL");
    expect(killed).toMatchObject({ name: "payment", signal: "SIGKILL", expected: true });
    expect(t.mesh.pid("payment")).toBeUndefined();
    expect((await rest(t.mesh.url, "GET", "/readyz")).status).toBe(503);

    const placed = await shopper.checkout();
    await expect.poll(async () => (await shopper.order(placed.order_id)).status, { timeout: 15_000 }).toBe("stock_reserved");
    await new Promise((r) => setTimeout(r, 500));
    expect((await shopper.order(placed.order_id)).status).toBe("stock_reserved");

    await t.mesh.start("payment");
    notePids();
    const order = await shopper.waitFinal(placed.order_id, { timeoutMs: 30_000, intervalMs: 20 });
    expect(order.status).toBe("paid");
    await expect.poll(async () => (await rest(t.mesh.url, "GET", "/readyz")).status, { timeout: 15_000 }).toBe(200);
    expect(unexpectedExits).toEqual([]);
  });

  it("holds an order for an operator (on_hold) when anyone produces a PaymentSucceeded of less than its total on Kafka", async () => {
    const shopper = await signup("underpaid");
    const product = demoCatalog[3];
    if (!product) throw new Error("demo catalog too small");
    await shopper.addItem(product.id, 1);
    // Payment away, so the forged event is the only payment the order hears of first.
    await t.mesh.kill("payment", "SIGKILL");
    const placed = await shopper.checkout();
    await expect.poll(async () => (await shopper.order(placed.order_id)).status, { timeout: 15_000 }).toBe("stock_reserved");
    const { user_id: userId, total_cents: total } = await shopper.order(placed.order_id);

    // A producer of its own on the payment topic, with the event format the services use.
    const forger = createKafkaBus({ brokers: t.kafka.brokers, clientId: "forger", logger: createLogger({ level: "silent" }) });
    const forgedId = uuidv7();
    try {
      const event = create(PaymentSucceededSchema, {
        paymentId: forgedId,
        orderId: placed.order_id,
        userId,
        amountCents: 1,
        currency: "EUR",
      });
      await forger.publish([createEnvelope(PaymentSucceededSchema, event, { source: "payment", key: placed.order_id })]);
    } finally {
      await forger.close();
    }
    await expect.poll(async () => (await shopper.order(placed.order_id)).status, { timeout: 15_000, interval: 20 }).toBe("on_hold");
    const held = await shopper.order(placed.order_id);
    expect(held).toMatchObject({ hold_reason: "payment_amount_mismatch", payment_id: forgedId, total_cents: total });
    expect(held.history.map((h) => `${h.to_status}:${h.reason}`).slice(-1)).toEqual(["on_hold:payment_amount_mismatch"]);

    // Payment back: it charges the real total, and the order is still held (an operator's call).
    await t.mesh.start("payment");
    notePids();
    const payments = createTestClient(PaymentService, t.mesh.services.payment);
    try {
      await expect
        .poll(async () => (await payments.listPayments({ orderId: placed.order_id })).items.map((p) => p.status), { timeout: 30_000 })
        .toEqual([PaymentStatus.SUCCEEDED]);
    } finally {
      closeClient(payments);
    }
    expect((await shopper.order(placed.order_id)).status).toBe("on_hold");
    expect(unexpectedExits).toEqual([]);
  });

  it("hands the order saga to a second order process on the same database when the first stops", async () => {
    const replica = await t.mesh.startReplica("order");
    notePids();
    expect(replica.name).toBe("order-2");
    expect(replica.address).not.toBe(t.mesh.services.order);

    const shopper = await signup("replica");
    const product = demoCatalog[3];
    if (!product) throw new Error("demo catalog too small");
    await shopper.addItem(product.id, 1);
    await t.mesh.stop("order");

    const orders = createTestClient(OrderService, replica.address);
    const as = { metadata: { authorization: `Bearer ${shopper.token}` } };
    try {
      const placed = await orders.placeOrder({}, as);
      await expect
        .poll(async () => (await orders.getOrder({ id: placed.orderId }, as)).order?.status, { timeout: 30_000, interval: 50 })
        .toBe(OrderStatus.PAID);
    } finally {
      closeClient(orders);
    }

    await t.mesh.start("order");
    notePids();
    await t.mesh.stop(replica.name);
    // The edge's order process serves again, and sees what the replica wrote.
    expect((await shopper.call<{ items: unknown[] }>("GET", "/api/orders")).body.items).toHaveLength(1);
  });

  it("seeds the demo catalog once: a restarted catalog keeps the stock it had", async () => {
    const list = async () =>
      (
        await rest<{ items: Array<{ id: string; stock: number }> }>(
          t.mesh.url,
          "GET",
          `/api/products?page_size=${demoCatalog.length + 1}`,
          {
            token: await t.readerToken(),
          },
        )
      ).body.items;
    const before = await list();
    expect(before).toHaveLength(demoCatalog.length);
    await t.mesh.restart("catalog");
    notePids();
    await expect.poll(list, { timeout: 15_000, interval: 100 }).toEqual(before);
  });

  it("reports a process that ends on its own and starts it again on request", async () => {
    const pid = t.mesh.pid("notification");
    if (pid === undefined) throw new Error("notification is not running");
    process.kill(pid, "SIGKILL");
    await expect
      .poll(() => unexpectedExits.map((e) => [e.name, e.signal, e.expected]), { timeout: 10_000 })
      .toEqual([["notification", "SIGKILL", false]]);
    unexpectedExits.length = 0;

    await t.mesh.start("notification");
    notePids();
    // Its consumer group carries on where it left off: a new shopper's welcome email arrives.
    const shopper = await signup("welcome");
    await expect
      .poll(async () => (await shopper.notifications()).map((n) => n.kind), { timeout: 30_000, interval: 50 })
      .toEqual(["welcome"]);
  });
});
