import { createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { demoCatalog } from "@shopmesh/catalog";
import { Code, closeClient, createClient, type Envelope } from "@shopmesh/platform";
import { UserRegisteredSchema } from "@shopmesh/proto/shop/auth/v1/events_pb.js";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { StockRejectedSchema, StockReleasedSchema, StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { OrderCancelledSchema, OrderPaidSchema, OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentFailedSchema, PaymentRefundedSchema, PaymentSucceededSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { rest, Shopper, productStock } from "../../shopper.js";
import { createTestClient, testMeshTls } from "@shopmesh/platform/testing";

/**
 * The checkout saga end to end in embedded mode (every service, the in-process bus, the edge),
 * driven through the edge's REST routes with plain HTTP, plus Connect and gRPC where the
 * contract says so.
 */

const DECLINED_CARD = "4000 0000 0000 0002";
const EVENT_TYPES = [
  UserRegisteredSchema,
  StockReservedSchema,
  StockRejectedSchema,
  StockReleasedSchema,
  OrderPlacedSchema,
  OrderPaidSchema,
  OrderCancelledSchema,
  PaymentSucceededSchema,
  PaymentFailedSchema,
  PaymentRefundedSchema,
].map((s) => s.typeName);

function product(index: number) {
  const p = demoCatalog[index];
  if (!p) throw new Error(`demo catalog has no product #${index}`);
  return p;
}

let mesh: EmbeddedMesh;
/** Every event published on the bus, seen by a consumer group of the test's own. */
const published: Envelope[] = [];
let emails = 0;
/** Signed in to read stock past the edge's read cache (see `stock`). */
let reader: Shopper;

/** The product's stock now, read signed in (past the edge's read cache): see productStock. */
const stock = (productId: string): Promise<number> => productStock(mesh.url, productId, reader.token);

function signup(name: string): Promise<Shopper> {
  return Shopper.signup(mesh.url, `${name}-${++emails}@example.com`);
}

/** Lets the saga's consumers finish what is queued (the in-process bus runs in this process). */
async function settle(ms = 200): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

function withPayments<T>(fn: (payments: ReturnType<typeof createClient<typeof PaymentService>>) => Promise<T>): Promise<T> {
  const payments = createTestClient(PaymentService, mesh.services.payment as string);
  return fn(payments).finally(() => closeClient(payments));
}

beforeAll(async () => {
  mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
  mesh.bus.subscribe("e2e-tap", EVENT_TYPES, async (event) => {
    published.push(event);
  });
  reader = await signup("stock-reader");
});

afterAll(async () => {
  await mesh?.stop();
});

describe("checkout through the edge's REST routes", () => {
  it("signs up, fills the cart, checks out and sees the order paid, the email sent, the stock down and the cart empty", async () => {
    const shopper = await signup("ada");
    const list = await rest<{ items: Array<{ id: string; stock: number; price_cents: number }> }>(mesh.url, "GET", "/api/products");
    expect(list.status).toBe(200);
    const target = list.body.items[0];
    if (!target) throw new Error("no products listed");
    const before = target.stock;

    await shopper.addItem(target.id, 2);
    const placed = await shopper.checkout();
    expect(placed).toEqual({ order_id: expect.any(String), status: "pending" });

    const order = await shopper.waitFinal(placed.order_id);
    expect(order).toMatchObject({
      id: placed.order_id,
      user_id: shopper.userId,
      status: "paid",
      cancel_reason: "",
      total_cents: target.price_cents * 2,
      items: [expect.objectContaining({ product_id: target.id, quantity: 2, unit_price_cents: target.price_cents })],
    });
    expect(order.payment_id).not.toBe("");
    expect(order.history.map((h) => h.to_status)).toEqual(["pending", "stock_reserved", "paid"]);

    expect(await stock(target.id)).toBe(before - 2);
    expect((await shopper.cart()).items).toEqual([]);
    await expect
      .poll(async () => (await shopper.notifications()).map((n) => n.kind).sort(), { timeout: 5_000 })
      .toEqual(["order_paid", "welcome"]);

    const listed = await shopper.call<{ items: Array<{ id: string }> }>("GET", "/api/orders");
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((o) => o.id)).toEqual([placed.order_id]);

    const payment = await withPayments((p) => p.listPayments({ orderId: placed.order_id }));
    expect(payment.items.map((p) => [p.status, p.amountCents])).toEqual([[PaymentStatus.SUCCEEDED, order.total_cents]]);
  });

  it("cancels an order paid with a declined card, gives the stock back and charges nothing", async () => {
    const shopper = await signup("declined");
    const p = product(2);
    const before = await stock(p.id);
    await shopper.addItem(p.id, 3);
    const placed = await shopper.checkout({ cardNumber: DECLINED_CARD });

    const order = await shopper.waitFinal(placed.order_id);
    expect(order).toMatchObject({ status: "cancelled", cancel_reason: "payment_declined", payment_id: "" });
    expect(order.history.map((h) => h.to_status)).toEqual(["pending", "stock_reserved", "cancelled"]);
    await expect.poll(() => stock(p.id), { timeout: 5_000 }).toBe(before);

    const payments = await withPayments((c) => c.listPayments({ orderId: placed.order_id }));
    expect(payments.items.map((x) => x.status)).toEqual([PaymentStatus.FAILED]);
    await expect
      .poll(async () => (await shopper.notifications()).map((n) => n.kind).sort(), { timeout: 5_000 })
      .toEqual(["order_cancelled", "welcome"]);
  });

  it("cancels an order the stock cannot cover as out_of_stock without charging", async () => {
    const shopper = await signup("short");
    const p = product(3);
    const catalog = createTestClient(CatalogService, mesh.services.catalog as string);
    try {
      const available = await stock(p.id);
      await catalog.adjustStock({ productId: p.id, delta: 1 - available, reason: "recount" });
    } finally {
      closeClient(catalog);
    }
    await shopper.addItem(p.id, 2);
    const placed = await shopper.checkout();
    const order = await shopper.waitFinal(placed.order_id);
    expect(order).toMatchObject({ status: "cancelled", cancel_reason: "out_of_stock" });
    expect(order.history.map((h) => h.to_status)).toEqual(["pending", "cancelled"]);
    expect(await stock(p.id)).toBe(1);
    const payments = await withPayments((c) => c.listPayments({ orderId: placed.order_id }));
    expect(payments.items).toEqual([]);
  });

  it("answers 409 failed_precondition to the checkout of an empty cart, and 401 without a token", async () => {
    const shopper = await signup("empty");
    const res = await shopper.call("POST", "/api/checkout");
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "failed_precondition" });
    expect((await rest(mesh.url, "POST", "/api/checkout")).status).toBe(401);
    expect((await rest(mesh.url, "GET", "/api/orders")).status).toBe(401);
  });

  it("places one order for the same Idempotency-Key, however often it is sent", async () => {
    const shopper = await signup("retry");
    await shopper.addItem(product(4).id, 1);
    const first = await shopper.checkout({ idempotencyKey: "checkout-1" });
    const again = await shopper.checkout({ idempotencyKey: "checkout-1" });
    expect(again.order_id).toBe(first.order_id);
    await shopper.waitFinal(first.order_id);
    const replay = await shopper.checkout({ idempotencyKey: "checkout-1" });
    expect(replay).toEqual({ order_id: first.order_id, status: "paid" });
    const listed = await shopper.call<{ items: unknown[] }>("GET", "/api/orders");
    expect(listed.body.items).toHaveLength(1);
  });

  it("changes nothing when every event of a finished order is delivered again", async () => {
    const shopper = await signup("redelivery");
    const p = product(5);
    await shopper.addItem(p.id, 1);
    const placed = await shopper.checkout();
    await shopper.waitFinal(placed.order_id);
    await expect.poll(async () => (await shopper.notifications()).length, { timeout: 5_000 }).toBe(2);
    await settle();
    const stockBefore = await stock(p.id);
    const events = published.filter((e) => e.key === placed.order_id);
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set([OrderPlacedSchema.typeName, StockReservedSchema.typeName, PaymentSucceededSchema.typeName, OrderPaidSchema.typeName]),
    );

    await mesh.bus.publish(events);
    await settle(500);

    expect(await stock(p.id)).toBe(stockBefore);
    const order = await shopper.order(placed.order_id);
    expect(order.status).toBe("paid");
    expect(order.history).toHaveLength(3);
    const payments = await withPayments((c) => c.listPayments({ orderId: placed.order_id }));
    expect(payments.items).toHaveLength(1);
    expect((await shopper.notifications()).filter((n) => n.kind === "order_paid")).toHaveLength(1);
    // Nothing new was emitted for the order: the republished events were the only additions.
    expect(published.filter((e) => e.key === placed.order_id)).toHaveLength(events.length * 2);
  });
});

describe("who may do what", () => {
  it("refuses a bad password, an unknown email and forged, tampered and alg:none tokens; rotates refresh tokens and detects reuse", async () => {
    const shopper = await signup("auth");
    const login = (email: string, password: string) => rest(mesh.url, "POST", "/api/auth/login", { body: { email, password } });
    expect((await login(shopper.email, "correct horse battery staple")).status).toBe(200);
    expect((await login(shopper.email, "wrong password!")).status).toBe(401);
    expect((await login("nobody@example.com", "correct horse battery staple")).status).toBe(401);

    const [header, payload, signature] = shopper.token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const tampered = [header, b64({ ...claims, sub: "someone-else" }), signature].join(".");
    const algNone = [b64({ alg: "none", typ: "JWT" }), payload, ""].join(".");
    const { generateKeyPair, SignJWT } = await import("jose");
    const other = await generateKeyPair("ES256");
    const foreign = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: JSON.parse(Buffer.from(header, "base64url").toString()).kid })
      .sign(other.privateKey);
    for (const token of [tampered, algNone, foreign, "not-a-jwt"]) {
      const res = await rest(mesh.url, "GET", "/api/orders", { token });
      expect(res.status, token).toBe(401);
    }

    const first = await login(shopper.email, "correct horse battery staple");
    const refreshed = await rest(mesh.url, "POST", "/api/auth/refresh", { body: { refresh_token: first.body.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(first.body.refresh_token);
    const reused = await rest(mesh.url, "POST", "/api/auth/refresh", { body: { refresh_token: first.body.refresh_token } });
    expect(reused.status).toBe(401);
    // Reuse revoked the whole family, the newest token included.
    const after = await rest(mesh.url, "POST", "/api/auth/refresh", { body: { refresh_token: refreshed.body.refresh_token } });
    expect(after.status).toBe(401);
  });

  it("keeps user A's cart and orders from user B over REST, Connect and gRPC", async () => {
    const a = await signup("owner");
    const b = await signup("intruder");
    await a.addItem(product(6).id, 1);
    const placed = await a.checkout();
    await a.addItem(product(7).id, 1);

    expect((await b.call("GET", `/api/orders/${placed.order_id}`)).status).toBe(404);
    expect((await b.call<{ items: unknown[] }>("GET", "/api/orders")).body.items).toEqual([]);
    expect((await b.cart()).items).toEqual([]);
    expect((await b.call("DELETE", `/api/cart/items/${product(7).id}`)).status).toBe(200);
    expect((await a.cart()).items.map((i) => i.product_id)).toEqual([product(7).id]);

    const headers = { authorization: `Bearer ${b.token}` };
    const connect = createConnectClient(OrderService, createConnectTransport({ baseUrl: mesh.url, httpVersion: "1.1" }));
    await expect(connect.getOrder({ id: placed.order_id }, { headers })).rejects.toMatchObject({ code: Code.NotFound });
    const connectCart = createConnectClient(CartService, createConnectTransport({ baseUrl: mesh.url, httpVersion: "1.1" }));
    expect((await connectCart.getCart({}, { headers })).cart?.items).toEqual([]);

    for (const address of [`127.0.0.1:${mesh.edgePort}`, mesh.services.order as string]) {
      // The edge's public port is plaintext; the service's own port speaks mutual TLS.
      const orders = createClient(OrderService, address, { tls: address === mesh.services.order ? testMeshTls("edge") : undefined });
      try {
        await expect(orders.getOrder({ id: placed.order_id }, { metadata: headers })).rejects.toMatchObject({ code: Code.NotFound });
        await expect(orders.getOrder({ id: placed.order_id })).rejects.toMatchObject({ code: Code.Unauthenticated });
        expect((await orders.getOrder({ id: placed.order_id }, { metadata: { authorization: `Bearer ${a.token}` } })).order?.id).toBe(
          placed.order_id,
        );
      } finally {
        closeClient(orders);
      }
    }
  });
});

describe("order status streams", () => {
  it("WatchOrders over gRPC (bidi) and StreamOrders through the edge see pending → stock_reserved → paid", async () => {
    const shopper = await signup("watcher");
    await shopper.addItem(product(8).id, 1);
    const placed = await shopper.checkout();
    const metadata = { authorization: `Bearer ${shopper.token}` };

    const requests = (async function* () {
      yield { addOrderIds: [placed.order_id] };
      await new Promise(() => undefined); // keep the request side open
    })();
    const orders = createClient(OrderService, `127.0.0.1:${mesh.edgePort}`);
    const abort = new AbortController();
    const bidi = (async () => {
      const seen: OrderStatus[] = [];
      try {
        for await (const m of orders.watchOrders(requests, { metadata, signal: abort.signal })) {
          if (m.update) seen.push(m.update.status);
          if (m.update?.status === OrderStatus.PAID) break;
        }
      } finally {
        closeClient(orders);
      }
      return seen;
    })();

    const connect = createConnectClient(OrderService, createConnectTransport({ baseUrl: mesh.url, httpVersion: "1.1" }));
    const streamed: OrderStatus[] = [];
    for await (const m of connect.streamOrders({ orderIds: [placed.order_id] }, { headers: metadata })) {
      if (m.update) streamed.push(m.update.status);
    }
    // The stream ended by itself: the order is final.
    expect(streamed.at(-1)).toBe(OrderStatus.PAID);
    const watched = await bidi;
    abort.abort();
    expect(watched.at(-1)).toBe(OrderStatus.PAID);
    // Each stream starts with the status at subscription, then every later transition, in order.
    for (const seen of [streamed, watched]) {
      const order = [OrderStatus.PENDING, OrderStatus.STOCK_RESERVED, OrderStatus.PAID];
      expect(seen).toEqual(order.slice(order.indexOf(seen[0] as OrderStatus)));
    }
  });
});

describe("the last units", () => {
  it("sells the last 5 units to exactly 5 of 20 shoppers checking out at once; the rest are cancelled out_of_stock and never charged", async () => {
    const p = product(9);
    const catalog = createTestClient(CatalogService, mesh.services.catalog as string);
    try {
      await catalog.adjustStock({ productId: p.id, delta: 5 - (await stock(p.id)), reason: "last units" });
    } finally {
      closeClient(catalog);
    }
    const shoppers = await Promise.all(Array.from({ length: 20 }, (_, i) => signup(`rush${i}`)));
    await Promise.all(shoppers.map((s) => s.addItem(p.id, 1)));
    const placed = await Promise.all(shoppers.map((s) => s.checkout()));
    const orders = await Promise.all(placed.map((o, i) => (shoppers[i] as Shopper).waitFinal(o.order_id)));

    const paid = orders.filter((o) => o.status === "paid");
    const cancelled = orders.filter((o) => o.status === "cancelled");
    expect(paid).toHaveLength(5);
    expect(cancelled).toHaveLength(15);
    for (const o of cancelled) expect(o.cancel_reason).toBe("out_of_stock");
    expect(await stock(p.id)).toBe(0);

    await withPayments(async (c) => {
      for (const o of orders) {
        const { items } = await c.listPayments({ orderId: o.id });
        expect(items.map((x) => x.status)).toEqual(o.status === "paid" ? [PaymentStatus.SUCCEEDED] : []);
      }
    });
  });
});
