import { create, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type CartServer, createCartServer, readCartConfig } from "@shopmesh/cart";
import { type CatalogServer, createCatalogServer, readCatalogConfig } from "@shopmesh/catalog";
import { createPaymentServer, type PaymentServer, readPaymentConfig } from "@shopmesh/payment";
import {
  type CallOptions,
  type Client,
  Code,
  ConnectError,
  closeClient,
  createEnvelope,
  createEventRegistry,
  createInProcessBus,
  createLogger,
  type Envelope,
  uuidv7,
  writeOutbox,
} from "@shopmesh/platform";
import {
  createTestClient,
  createTestTokenIssuer,
  forEachBackend,
  type TestDatabase,
  useTestDatabase,
  violatedFieldsOf,
  testTlsEnv,
} from "@shopmesh/platform/testing";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { StockRejectedSchema, StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { OperationsService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import {
  OrderCancelledSchema,
  OrderPaidSchema,
  OrderPlacedSchema,
  OrderRefundRequestedSchema,
} from "@shopmesh/proto/shop/order/v1/events_pb.js";
import {
  type OrderStatusUpdate,
  OrderService,
  OrderStatus,
  type WatchOrdersRequestSchema,
  type WatchOrdersResponse,
} from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentFailedSchema, PaymentSucceededSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readOrderConfig } from "./config.js";
import type { OrderDb } from "./db/tables.js";
import { createOrderServer, type OrderServer } from "./index.js";

/**
 * Order through its public contract: a real server on port 0 over each database backend, called
 * over gRPC, with the real catalog (demo products), cart and payment services over the same
 * database (a schema each) and one in-process bus. Tokens are real ES256 JWTs checked by the
 * platform verifier over a static JWKS.
 *
 * The catalog runs without the bus: it does not consume OrderPlaced yet, so the tests play its
 * part and publish StockReserved/StockRejected themselves (and, where a test needs an event the
 * real payment service would not send at that moment, PaymentSucceeded/PaymentFailed).
 */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const ORDER_EVENTS = [OrderPlacedSchema, OrderPaidSchema, OrderCancelledSchema, OrderRefundRequestedSchema];
const registry = createEventRegistry(ORDER_EVENTS);
const host = "127.0.0.1";
const CUP = { id: "p-espresso-cup", priceCents: 1290 };
const MOKA = { id: "p-moka-pot", priceCents: 3490 };
const CARD_OK = "4242 4242 4242 4242";
const CARD_DECLINED = "4000 0000 0000 0002";
const CARD_UNAVAILABLE = "4000-0000-0000-0341";

async function errorOf(p: Promise<unknown>): Promise<ConnectError | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
}

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  const err = await errorOf(p);
  return err === "ok" ? err : err.code;
}

/** Reads a whole stream (it must end), or its error. */
async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

/** Requests of a client stream, pushed by the test; `end()` half-closes. */
function requestQueue<T>() {
  const items: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    push(item: T) {
      items.push(item);
      poke();
    },
    end() {
      ended = true;
      poke();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (items.length > 0) yield items.shift()!;
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

const issuer = await createTestTokenIssuer();
const as = (userId: string): Promise<CallOptions> => issuer.as(userId);

const stockReserved = (orderId: string) =>
  createEnvelope(StockReservedSchema, create(StockReservedSchema, { orderId }), { source: "catalog", key: orderId });
const stockRejected = (orderId: string, reason: string) =>
  createEnvelope(StockRejectedSchema, create(StockRejectedSchema, { orderId, reason }), { source: "catalog", key: orderId });
/** A PaymentSucceeded of `amountCents` in `currency`: by default the total of `placed()`'s order (one cup). */
const paymentSucceeded = (
  orderId: string,
  {
    paymentId = uuidv7(),
    amountCents = CUP.priceCents,
    currency = "EUR",
  }: { paymentId?: string; amountCents?: number; currency?: string } = {},
) =>
  createEnvelope(
    PaymentSucceededSchema,
    create(PaymentSucceededSchema, { paymentId, orderId, amountCents, currency, succeededAt: timestampFromDate(new Date()) }),
    { source: "payment", key: orderId },
  );
const paymentFailed = (orderId: string, reason: string) =>
  createEnvelope(PaymentFailedSchema, create(PaymentFailedSchema, { paymentId: uuidv7(), orderId, reason }), {
    source: "payment",
    key: orderId,
  });

const transitions = (history: { fromStatus: OrderStatus; toStatus: OrderStatus; reason: string }[] | undefined) =>
  (history ?? []).map((h) => `${OrderStatus[h.fromStatus]}→${OrderStatus[h.toStatus]}:${h.reason}`);
const describeUpdate = (u: OrderStatusUpdate | undefined) =>
  u &&
  `${OrderStatus[u.status]} (${OrderStatus[u.transition?.fromStatus ?? 0]}→${OrderStatus[u.transition?.toStatus ?? 0]}:${u.transition?.reason})`;

/**
 * The checkout services of one suite: real catalog (demo products), cart, payment and order
 * servers on port 0, each in its own schema of the suite's database, sharing one in-process bus.
 * Helpers are arrow properties, usable unbound.
 */
class CheckoutMesh {
  readonly bus = createInProcessBus({ logger, retry: { initialMs: 2, maxMs: 20 } });
  /** Every order event as it reached the bus. */
  readonly emitted: Envelope[] = [];
  catalog!: CatalogServer;
  cart!: CartServer;
  payment!: PaymentServer;
  /** The payment service's schema. */
  paymentSchema!: string;
  service!: OrderServer;
  orders!: Client<typeof OrderService>;
  carts!: Client<typeof CartService>;

  constructor(
    private readonly t: TestDatabase,
    /** Whether the catalog consumes the saga (reserving and releasing stock) or the test plays its part. */
    private readonly catalogOnBus: boolean,
  ) {}

  readonly start = async () => {
    const { t, bus } = this;
    const [catalogSchema, cartSchema, paymentSchema] = [await t.createSchema(), await t.createSchema(), await t.createSchema()];
    this.paymentSchema = paymentSchema;
    this.catalog = createCatalogServer({
      config: readCatalogConfig({ ...testTlsEnv(), DB_SCHEMA: catalogSchema }),
      verifier: issuer.verifier,
      db: t.db,
      logger,
      host,
      port: 0,
      ...(this.catalogOnBus ? { bus } : {}),
    });
    const catalogAddr = `${host}:${await this.catalog.start()}`;
    this.cart = createCartServer({
      config: readCartConfig({ ...testTlsEnv(), DB_SCHEMA: cartSchema, CATALOG_ADDR: catalogAddr }),
      db: t.db,
      logger,
      host,
      port: 0,
      bus,
      verifier: issuer.verifier,
    });
    this.payment = createPaymentServer({
      config: readPaymentConfig({ ...testTlsEnv(), DB_SCHEMA: paymentSchema }),
      db: t.db,
      logger,
      host,
      port: 0,
      bus,
      verifier: issuer.verifier,
      chargeRetry: { attempts: 2, initialMs: 1, maxMs: 2 },
    });
    const [cartPort, paymentPort] = await Promise.all([this.cart.start(), this.payment.start()]);
    bus.subscribe(
      "order-test-observer",
      ORDER_EVENTS.map((s) => s.typeName),
      async (event) => void this.emitted.push(event),
    );
    this.service = createOrderServer({
      config: readOrderConfig({
        ...testTlsEnv(),
        DB_SCHEMA: t.schema,
        CART_ADDR: `${host}:${cartPort}`,
        CATALOG_ADDR: catalogAddr,
        PAYMENT_ADDR: `${host}:${paymentPort}`,
      }),
      db: t.db,
      logger,
      host,
      port: 0,
      bus,
      verifier: issuer.verifier,
    });
    await this.service.start();
    this.orders = createTestClient(OrderService, `${host}:${this.service.port}`);
    this.carts = createTestClient(CartService, `${host}:${cartPort}`);
  };

  readonly stop = async () => {
    if (this.orders) closeClient(this.orders);
    if (this.carts) closeClient(this.carts);
    await this.service?.stop();
    await this.payment?.stop();
    await this.cart?.stop();
    await this.catalog?.stop();
    await this.bus.close();
  };

  /** The order service's schema. */
  readonly db = () => this.t.kysely<OrderDb>();

  readonly fill = async (userId: string, lines: Array<[string, number]>) => {
    for (const [productId, qty] of lines) await this.carts.addItem({ productId, qty }, await as(userId));
  };

  readonly getOrder = async (userId: string, id: string) => (await this.orders.getOrder({ id }, await as(userId))).order!;

  readonly waitForStatus = (userId: string, id: string, status: OrderStatus) =>
    vi.waitFor(async () => expect(OrderStatus[(await this.getOrder(userId, id)).status]).toBe(OrderStatus[status]), {
      timeout: 10_000,
      interval: 10,
    });

  /** Cart empties itself on OrderPlaced, asynchronously. */
  readonly cartEmptied = async (userId: string) => {
    const opts = await as(userId);
    await vi.waitFor(async () => expect((await this.carts.getCart({}, opts)).cart?.items).toEqual([]), { timeout: 10_000, interval: 10 });
  };

  /** Publishes, then waits until every consumer handled what is queued (not for relays publishing later). */
  readonly publish = async (...events: Envelope[]) => {
    await this.bus.publish(events);
    await this.bus.drain();
  };

  readonly outboxTypes = async (orderId: string) =>
    (await this.db().selectFrom("outbox").select("type").where("key", "=", orderId).orderBy("seq").execute()).map((r) => r.type);

  readonly eventsOf = <D extends DescMessage>(schema: D, orderId: string): MessageShape<D>[] =>
    this.emitted.filter((e) => e.key === orderId && e.type === schema.typeName).map((e) => registry.decodeAs(schema, e));

  readonly waitForEvent = async <D extends DescMessage>(schema: D, orderId: string): Promise<MessageShape<D>> => {
    await vi.waitFor(() => expect(this.eventsOf(schema, orderId)).toHaveLength(1), { timeout: 10_000, interval: 10 });
    return this.eventsOf(schema, orderId)[0]!;
  };

  /** A fresh user with `lines` in the cart and an order placed from it. */
  readonly placed = async (lines: Array<[string, number]> = [[CUP.id, 1]], req: { cardNumber?: string; key?: string } = {}) => {
    const userId = uuidv7();
    await this.fill(userId, lines);
    const res = await this.orders.placeOrder(
      { idempotencyKey: req.key ?? "", ...(req.cardNumber ? { payment: { cardNumber: req.cardNumber } } : {}) },
      await as(userId),
    );
    return { userId, orderId: res.orderId, status: res.status };
  };
}

forEachBackend((backend) => {
  describe(`order service (${backend.name})`, () => {
    const t: TestDatabase = useTestDatabase(backend);
    const m = new CheckoutMesh(t, false);
    const { db, fill, getOrder, waitForStatus, cartEmptied, publish, outboxTypes, eventsOf, placed } = m;
    let orders: Client<typeof OrderService>;
    let payment: PaymentServer;
    let service: OrderServer;

    beforeAll(async () => {
      await m.start();
      ({ orders, payment, service } = m);
    });
    afterAll(() => m.stop());

    it("places the cart at catalog prices as PENDING; the saga (real payment) takes it to PAID", async () => {
      const { userId, orderId, status } = await placed(
        [
          [CUP.id, 2],
          [MOKA.id, 1],
        ],
        { cardNumber: CARD_OK },
      );
      expect(status).toBe(OrderStatus.PENDING);
      let order = await getOrder(userId, orderId);
      expect(order).toMatchObject({ id: orderId, userId, totalCents: 2 * CUP.priceCents + MOKA.priceCents, currency: "EUR" });
      expect(order.items.map((i) => [i.productId, i.unitPriceCents, i.quantity, i.lineTotalCents])).toEqual([
        [CUP.id, CUP.priceCents, 2, 2 * CUP.priceCents],
        [MOKA.id, MOKA.priceCents, 1, MOKA.priceCents],
      ]);
      expect(order.items[0]?.name).toBe("Espresso Cup");
      expect(transitions(order.history)).toEqual(["UNSPECIFIED→PENDING:placed"]);

      // OrderPlaced carries the payment token, never the card; cart's own consumer empties the cart.
      await m.waitForEvent(OrderPlacedSchema, orderId);
      expect(eventsOf(OrderPlacedSchema, orderId)[0]).toMatchObject({ userId, totalCents: order.totalCents, paymentMethod: "pm_test_ok" });
      await cartEmptied(userId);

      await publish(stockReserved(orderId));
      await waitForStatus(userId, orderId, OrderStatus.PAID);
      order = await getOrder(userId, orderId);
      expect(transitions(order.history)).toEqual([
        "UNSPECIFIED→PENDING:placed",
        "PENDING→STOCK_RESERVED:stock_reserved",
        "STOCK_RESERVED→PAID:paid",
      ]);
      const charged = await payment.payments.getPayment({ orderId }, userId);
      expect(order.paymentId).toBe(charged.id);
      expect(order.cancelReason).toBe("");
      await m.waitForEvent(OrderPaidSchema, orderId);
      expect(eventsOf(OrderPaidSchema, orderId)[0]).toMatchObject({ userId, paymentId: charged.id, totalCents: order.totalCents });
      expect(await outboxTypes(orderId)).toEqual([OrderPlacedSchema.typeName, OrderPaidSchema.typeName]);

      // The card number is nowhere: not in the order's rows, not in any event.
      const row = await db().selectFrom("orders").selectAll().where("id", "=", orderId).executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain("4242424242424242");
      const payloads = await db().selectFrom("outbox").select("payload").where("key", "=", orderId).execute();
      for (const { payload } of payloads) expect(Buffer.from(payload).includes("4242424242424242")).toBe(false);
    });

    it("a declined card cancels with payment_declined and OrderCancelled from STOCK_RESERVED", async () => {
      const { userId, orderId } = await placed([[MOKA.id, 1]], { cardNumber: CARD_DECLINED });
      await publish(stockReserved(orderId));
      await waitForStatus(userId, orderId, OrderStatus.CANCELLED);
      const order = await getOrder(userId, orderId);
      expect(order.cancelReason).toBe("payment_declined");
      expect(order.paymentId).toBe("");
      expect(transitions(order.history).slice(1)).toEqual([
        "PENDING→STOCK_RESERVED:stock_reserved",
        "STOCK_RESERVED→CANCELLED:payment_declined",
      ]);
      await m.waitForEvent(OrderCancelledSchema, orderId);
      expect(eventsOf(OrderCancelledSchema, orderId)[0]).toMatchObject({
        userId,
        reason: "payment_declined",
        previousStatus: OrderStatus.STOCK_RESERVED,
        totalCents: MOKA.priceCents,
      });
    });

    it("a card the provider never takes cancels with payment_failed", async () => {
      const { userId, orderId } = await placed([[CUP.id, 1]], { cardNumber: CARD_UNAVAILABLE });
      await publish(stockReserved(orderId));
      await waitForStatus(userId, orderId, OrderStatus.CANCELLED);
      expect((await getOrder(userId, orderId)).cancelReason).toBe("payment_failed");
      expect((await payment.payments.getPayment({ orderId }, userId)).failureReason).toBe("provider_unavailable");
    });

    it("StockRejected cancels a PENDING order with the catalog's reason; nothing is charged", async () => {
      for (const reason of ["out_of_stock", "unknown_product"]) {
        const { userId, orderId } = await placed();
        await publish(stockRejected(orderId, reason));
        await waitForStatus(userId, orderId, OrderStatus.CANCELLED);
        const order = await getOrder(userId, orderId);
        expect(order.cancelReason).toBe(reason);
        expect(transitions(order.history).slice(1)).toEqual([`PENDING→CANCELLED:${reason}`]);
        await m.waitForEvent(OrderCancelledSchema, orderId);
        expect(eventsOf(OrderCancelledSchema, orderId)[0]).toMatchObject({ reason, previousStatus: OrderStatus.PENDING });
        expect((await payment.payments.listPayments({ orderId, pageSize: 0, pageToken: "", statuses: [], userId: "" })).items).toEqual([]);
      }
    });

    it("an empty cart is FAILED_PRECONDITION and places nothing", async () => {
      const userId = uuidv7();
      const err = await errorOf(orders.placeOrder({}, await as(userId)));
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
      expect((err as ConnectError).rawMessage).toBe("cart is empty");
      expect((await orders.listOrders({}, await as(userId))).items).toEqual([]);
    });

    it("an idempotency key replays the first order, even after the cart was cleared; other payment details are ALREADY_EXISTS", async () => {
      const key = "checkout-1";
      const { userId, orderId } = await placed([[CUP.id, 1]], { cardNumber: CARD_OK, key });
      const opts = await as(userId);
      await cartEmptied(userId);

      const again = await orders.placeOrder({ idempotencyKey: key, payment: { cardNumber: "4242-4242-4242-4242" } }, opts);
      expect(again).toMatchObject({ orderId, status: OrderStatus.PENDING });
      expect(await codeOf(orders.placeOrder({ idempotencyKey: key, payment: { cardNumber: CARD_DECLINED } }, opts))).toBe(
        Code.AlreadyExists,
      );
      expect(await codeOf(orders.placeOrder({ idempotencyKey: key }, opts))).toBe(Code.AlreadyExists);

      await publish(stockReserved(orderId));
      await waitForStatus(userId, orderId, OrderStatus.PAID);
      const later = await orders.placeOrder({ idempotencyKey: key, payment: { cardNumber: CARD_OK } }, opts);
      expect(later).toMatchObject({ orderId, status: OrderStatus.PAID });
      expect((await outboxTypes(orderId)).filter((type) => type === OrderPlacedSchema.typeName)).toHaveLength(1);

      // Keys are scoped to the caller: another user's same key is another order.
      const other = await placed([[CUP.id, 1]], { cardNumber: CARD_OK, key });
      expect(other.orderId).not.toBe(orderId);
    });

    it("concurrent PlaceOrder calls with one key make one order", async () => {
      const userId = uuidv7();
      await fill(userId, [[MOKA.id, 2]]);
      const opts = await as(userId);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => orders.placeOrder({ idempotencyKey: "same-key", payment: { cardNumber: CARD_OK } }, opts)),
      );
      const ids = new Set(results.map((r) => r.orderId));
      expect(ids.size).toBe(1);
      const [orderId] = [...ids];
      const rows = await db().selectFrom("orders").select("id").where("user_id", "=", userId).execute();
      expect(rows.map((r) => r.id)).toEqual([orderId]);
      expect(await outboxTypes(orderId!)).toEqual([OrderPlacedSchema.typeName]);
    });

    it("validation errors are INVALID_ARGUMENT naming the field; no token is UNAUTHENTICATED", async () => {
      const userId = uuidv7();
      await fill(userId, [[CUP.id, 1]]);
      const opts = await as(userId);
      const field = async (p: Promise<unknown>) => {
        const err = await errorOf(p);
        expect(err).toBeInstanceOf(ConnectError);
        expect((err as ConnectError).code).toBe(Code.InvalidArgument);
        return (err as ConnectError).rawMessage.split(":")[0];
      };
      expect(await field(orders.placeOrder({ idempotencyKey: "k".repeat(129) }, opts))).toBe("idempotency_key");
      expect(await field(orders.placeOrder({ idempotencyKey: "bell\u0007" }, opts))).toBe("idempotency_key");
      const badCard = await errorOf(orders.placeOrder({ payment: { cardNumber: "4242424242424241" } }, opts));
      expect((badCard as ConnectError).rawMessage).toMatch(/^payment\.card_number: /);
      expect((badCard as ConnectError).rawMessage).not.toContain("4242424242424241");
      expect(await field(orders.getOrder({ id: "not-a-uuid" }, opts))).toBe("id");
      expect(await field(orders.getOrder({ id: "" }, opts))).toBe("id");
      expect(await field(orders.listOrders({ pageSize: 101 }, opts))).toBe("page_size");
      expect(await field(orders.listOrders({ pageToken: "garbage" }, opts))).toBe("page_token");
      expect(await field(orders.listAllOrders({ pageSize: 501 }))).toBe("page_size");
      expect(await field(orders.listAllOrders({ statuses: [OrderStatus.UNSPECIFIED] }))).toBe("statuses[0]");
      expect(await field(collect(orders.streamOrders({ orderIds: [] }, opts)))).toBe("order_ids");
      expect(await field(collect(orders.streamOrders({ orderIds: [uuidv7(), "x"] }, opts)))).toBe("order_ids[1]");
      const watch = requestQueue<MessageInitShape<typeof WatchOrdersRequestSchema>>();
      watch.push({ addOrderIds: ["nope"] });
      expect(await field(collect(orders.watchOrders(watch, opts)))).toBe("add_order_ids[0]");
      // Nothing was placed by the refused calls.
      expect((await orders.listOrders({}, opts)).items).toEqual([]);

      expect(await codeOf(orders.placeOrder({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(orders.getOrder({ id: uuidv7() }))).toBe(Code.Unauthenticated);
      expect(await codeOf(orders.listOrders({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(collect(orders.streamOrders({ orderIds: [uuidv7()] })))).toBe(Code.Unauthenticated);
    });

    it("names every bad field of a request at once, one field violation each; good requests still pass", async () => {
      const { userId, orderId } = await placed();
      const opts = await as(userId);
      const fields = violatedFieldsOf;
      expect(await fields(orders.placeOrder({ idempotencyKey: "k".repeat(129), payment: { cardNumber: "1234" } }, opts))).toEqual([
        "idempotency_key",
        "payment.card_number",
      ]);
      expect(await fields(orders.listOrders({ pageSize: 101, pageToken: "garbage" }, opts))).toEqual(["page_size", "page_token"]);
      expect(
        await fields(
          orders.listAllOrders({
            pageSize: 501,
            pageToken: "garbage",
            statuses: [OrderStatus.UNSPECIFIED, OrderStatus.PAID, 99 as OrderStatus],
            updatedBefore: { seconds: 300_000_000_000n, nanos: 0 },
            userId: " ",
          }),
        ),
      ).toEqual(["page_size", "page_token", "statuses[0]", "statuses[2]", "updated_before", "user_id"]);
      expect(await fields(collect(orders.streamOrders({ orderIds: ["x", orderId, "y"] }, opts)))).toEqual(["order_ids[0]", "order_ids[2]"]);
      const watch = requestQueue<MessageInitShape<typeof WatchOrdersRequestSchema>>();
      watch.push({ addOrderIds: ["nope", orderId], removeOrderIds: [""] });
      expect(await fields(collect(orders.watchOrders(watch, opts)))).toEqual(["add_order_ids[0]", "remove_order_ids[0]"]);

      expect((await orders.getOrder({ id: orderId.toUpperCase() }, opts)).order?.id).toBe(orderId);
      expect((await orders.listOrders({ pageSize: 1 }, opts)).items.map((o) => o.id)).toEqual([orderId]);
      const all = await orders.listAllOrders({ userId, statuses: [OrderStatus.PENDING, OrderStatus.STOCK_RESERVED, OrderStatus.PAID] });
      expect(all.items.map((o) => o.id)).toEqual([orderId]);
    });

    it("needs AUTH_ADDR to verify tokens when no verifier is injected", () => {
      const config = readOrderConfig({
        ...testTlsEnv(),
        DB_SCHEMA: t.schema,
        CART_ADDR: "cart:1",
        CATALOG_ADDR: "catalog:1",
        PAYMENT_ADDR: "payment:1",
      });
      expect(() => createOrderServer({ config, db: t.db, logger })).toThrow(/AUTH_ADDR/);
    });

    it("a user sees only their own orders: another's is NOT_FOUND, exactly like an unknown id", async () => {
      const a = await placed();
      const b = uuidv7();
      const asB = await as(b);
      expect(await codeOf(orders.getOrder({ id: a.orderId }, asB))).toBe(Code.NotFound);
      expect(await codeOf(orders.getOrder({ id: uuidv7() }, asB))).toBe(Code.NotFound);
      expect((await orders.listOrders({}, asB)).items).toEqual([]);
      expect(await codeOf(collect(orders.streamOrders({ orderIds: [a.orderId] }, asB)))).toBe(Code.NotFound);
      const watch = requestQueue<MessageInitShape<typeof WatchOrdersRequestSchema>>();
      watch.push({ addOrderIds: [a.orderId] });
      expect(await codeOf(collect(orders.watchOrders(watch, asB)))).toBe(Code.NotFound);
      expect((await getOrder(a.userId, a.orderId)).id).toBe(a.orderId);
    });

    it("a payment result overtaking StockReserved records PENDING → STOCK_RESERVED → PAID; later events are logged no-ops", async () => {
      const { userId, orderId } = await placed();
      const paymentId = uuidv7();
      await publish(paymentSucceeded(orderId, { paymentId }));
      let order = await getOrder(userId, orderId);
      expect(order).toMatchObject({ status: OrderStatus.PAID, paymentId });
      expect(transitions(order.history)).toEqual([
        "UNSPECIFIED→PENDING:placed",
        "PENDING→STOCK_RESERVED:stock_reserved",
        "STOCK_RESERVED→PAID:paid",
      ]);

      // Stale (StockReserved, a second PaymentSucceeded) and contradicting (PaymentFailed,
      // StockRejected) events change nothing, emit nothing and are not dead-lettered.
      const late = [
        stockReserved(orderId),
        paymentSucceeded(orderId),
        paymentFailed(orderId, "declined"),
        stockRejected(orderId, "out_of_stock"),
      ];
      await publish(...late);
      order = await getOrder(userId, orderId);
      expect(order).toMatchObject({ status: OrderStatus.PAID, paymentId, cancelReason: "" });
      expect(order.history).toHaveLength(3);
      expect(await outboxTypes(orderId)).toEqual([OrderPlacedSchema.typeName, OrderPaidSchema.typeName]);
      const inbox = await db()
        .selectFrom("inbox")
        .select("event_id")
        .where(
          "event_id",
          "in",
          late.map((e) => e.id),
        )
        .execute();
      expect(inbox).toHaveLength(late.length);
      expect(await db().selectFrom("dead_letters").select("event_id").execute()).toEqual([]);
    });

    it("money: an underpaid PaymentSucceeded does not make the order PAID; it is held for an operator, and stays held", async () => {
      // No StockReserved: the real payment service never charges this order, only the forged
      // event pays, and it travels the way payment's own events do: its outbox, its relay, the bus.
      const { userId, orderId } = await placed();
      const forged = uuidv7();
      await t.db
        .kysely(m.paymentSchema)
        .transaction()
        .execute((trx) => writeOutbox(trx, paymentSucceeded(orderId, { paymentId: forged, amountCents: 1 })));
      await waitForStatus(userId, orderId, OrderStatus.ON_HOLD);
      let order = await getOrder(userId, orderId);
      expect(order).toMatchObject({
        status: OrderStatus.ON_HOLD,
        holdReason: "payment_amount_mismatch",
        paymentId: forged,
        cancelReason: "",
      });
      expect(transitions(order.history).slice(1)).toEqual([
        "PENDING→STOCK_RESERVED:stock_reserved",
        "STOCK_RESERVED→ON_HOLD:payment_amount_mismatch",
      ]);
      // A payment of the right amount afterwards does not release it: which one is real is the operator's call.
      await publish(paymentSucceeded(orderId), paymentFailed(orderId, "declined"));
      order = await getOrder(userId, orderId);
      expect(order).toMatchObject({ status: OrderStatus.ON_HOLD, paymentId: forged });
      expect(order.history).toHaveLength(3);
      expect(await outboxTypes(orderId)).toEqual([OrderPlacedSchema.typeName]);
      expect(eventsOf(OrderPaidSchema, orderId)).toEqual([]);
      const held = await orders.listAllOrders({ userId, statuses: [OrderStatus.ON_HOLD] });
      expect(held.items.map((o) => o.id)).toEqual([orderId]);
    });

    it("money: a PaymentSucceeded in another currency, or one cent short, holds the order too; the exact total pays", async () => {
      const other = await placed();
      await publish(paymentSucceeded(other.orderId, { currency: "USD" }));
      expect(await getOrder(other.userId, other.orderId)).toMatchObject({
        status: OrderStatus.ON_HOLD,
        holdReason: "payment_currency_mismatch",
      });

      const early = await placed();
      await publish(paymentSucceeded(early.orderId, { amountCents: CUP.priceCents - 1 }));
      const order = await getOrder(early.userId, early.orderId);
      expect(order.status).toBe(OrderStatus.ON_HOLD);
      expect(transitions(order.history).slice(1)).toEqual([
        "PENDING→STOCK_RESERVED:stock_reserved",
        "STOCK_RESERVED→ON_HOLD:payment_amount_mismatch",
      ]);
      // The exact total pays as before.
      const exact = await placed();
      await publish(paymentSucceeded(exact.orderId));
      expect((await getOrder(exact.userId, exact.orderId)).status).toBe(OrderStatus.PAID);
    });

    it("a payment failure overtaking StockReserved cancels from STOCK_RESERVED; a cancelled order stays cancelled", async () => {
      const { userId, orderId } = await placed();
      await publish(paymentFailed(orderId, "declined"));
      let order = await getOrder(userId, orderId);
      expect(order).toMatchObject({ status: OrderStatus.CANCELLED, cancelReason: "payment_declined" });
      expect(transitions(order.history).slice(1)).toEqual([
        "PENDING→STOCK_RESERVED:stock_reserved",
        "STOCK_RESERVED→CANCELLED:payment_declined",
      ]);
      await m.waitForEvent(OrderCancelledSchema, orderId);
      expect(eventsOf(OrderCancelledSchema, orderId)[0]?.previousStatus).toBe(OrderStatus.STOCK_RESERVED);

      await publish(stockReserved(orderId), paymentSucceeded(orderId), stockRejected(orderId, "out_of_stock"));
      order = await getOrder(userId, orderId);
      expect(order).toMatchObject({ status: OrderStatus.CANCELLED, cancelReason: "payment_declined", paymentId: "" });
      expect(order.history).toHaveLength(3);
      // Only the charges that succeeded for it anyway (the forged one, the real one StockReserved
      // started) are asked back.
      const types = await outboxTypes(orderId);
      expect(types.slice(0, 2)).toEqual([OrderPlacedSchema.typeName, OrderCancelledSchema.typeName]);
      for (const type of types.slice(2)) expect(type).toBe(OrderRefundRequestedSchema.typeName);
    });

    it("an event delivered twice is applied once: one transition, one outbox event", async () => {
      const { userId, orderId } = await placed();
      const reserved = stockReserved(orderId);
      const paid = paymentSucceeded(orderId);
      await publish(reserved);
      await publish(reserved);
      await publish(paid);
      await publish(paid);
      const order = await getOrder(userId, orderId);
      expect(transitions(order.history)).toEqual([
        "UNSPECIFIED→PENDING:placed",
        "PENDING→STOCK_RESERVED:stock_reserved",
        "STOCK_RESERVED→PAID:paid",
      ]);
      expect(await outboxTypes(orderId)).toEqual([OrderPlacedSchema.typeName, OrderPaidSchema.typeName]);
      const inbox = await db().selectFrom("inbox").select("event_id").where("event_id", "in", [reserved.id, paid.id]).execute();
      expect(inbox).toHaveLength(2);
    });

    it("WatchOrders answers with the current status, then sends PENDING → STOCK_RESERVED → PAID and ends once final after half-close", async () => {
      const { userId, orderId } = await placed([[CUP.id, 1]], { cardNumber: CARD_OK });
      const requests = requestQueue<MessageInitShape<typeof WatchOrdersRequestSchema>>();
      const stream = orders.watchOrders(requests, await as(userId))[Symbol.asyncIterator]();
      const next = async (): Promise<WatchOrdersResponse> => {
        const r = await stream.next();
        if (r.done) throw new Error("stream ended");
        return r.value;
      };
      requests.push({ addOrderIds: [orderId] });
      const first = (await next()).update;
      expect(describeUpdate(first)).toBe("PENDING (UNSPECIFIED→PENDING:placed)");
      expect(first?.orderId).toBe(orderId);

      await publish(stockReserved(orderId));
      const reserved = (await next()).update;
      expect(describeUpdate(reserved)).toBe("STOCK_RESERVED (PENDING→STOCK_RESERVED:stock_reserved)");
      expect(reserved?.transition?.at).toBeDefined();

      // The real payment service charges the card and its PaymentSucceeded makes the order PAID.
      const paid = (await next()).update;
      expect(describeUpdate(paid)).toBe("PAID (STOCK_RESERVED→PAID:paid)");
      expect(paid?.paymentId).toBe((await getOrder(userId, orderId)).paymentId);

      requests.end();
      expect((await stream.next()).done).toBe(true);
    });

    it("WatchOrders: a transition committed and announced while the stream reads the current status is sent once, as the current status", async () => {
      const { userId, orderId } = await placed();
      const requests = requestQueue<MessageInitShape<typeof WatchOrdersRequestSchema>>();
      const stream = orders.watchOrders(requests, await as(userId))[Symbol.asyncIterator]();
      const subscriptions = service.orders.feed.subscriptions;
      const applied = await db()
        .transaction()
        .execute(async (trx) => {
          // The stream's read of the current status waits for this transaction.
          await sql`lock table orders in access exclusive mode`.execute(trx);
          requests.push({ addOrderIds: [orderId] });
          await vi.waitFor(() => expect(service.orders.feed.subscriptions).toBe(subscriptions + 1));
          return service.orders.applyEvent(trx, { kind: "stock-rejected", orderId, reason: "out_of_stock" });
        });
      // Announced once committed, as the saga consumer does, while the read is still under way.
      service.orders.announce(applied);
      const first = await stream.next();
      expect(describeUpdate(first.value?.update)).toBe("CANCELLED (PENDING→CANCELLED:out_of_stock)");
      requests.end();
      expect((await stream.next()).done).toBe(true);
    });

    it("WatchOrders: a removed order is not reported; more than 100 ids is RESOURCE_EXHAUSTED", async () => {
      const a = await placed();
      await fill(a.userId, [[MOKA.id, 1]]);
      const second = await orders.placeOrder({}, await as(a.userId));
      const requests = requestQueue<MessageInitShape<typeof WatchOrdersRequestSchema>>();
      const stream = orders.watchOrders(requests, await as(a.userId))[Symbol.asyncIterator]();
      requests.push({ addOrderIds: [a.orderId, second.orderId] });
      const answered = [(await stream.next()).value?.update?.orderId, (await stream.next()).value?.update?.orderId];
      expect(answered.sort()).toEqual([a.orderId, second.orderId].sort());
      requests.push({ removeOrderIds: [a.orderId] });
      await vi.waitFor(() => expect(service.orders.feed.subscriptions).toBe(1));
      await publish(stockRejected(a.orderId, "out_of_stock"), stockRejected(second.orderId, "out_of_stock"));
      const update = (await stream.next()).value?.update;
      expect([update?.orderId, describeUpdate(update)]).toEqual([second.orderId, "CANCELLED (PENDING→CANCELLED:out_of_stock)"]);
      requests.end();
      expect((await stream.next()).done).toBe(true);

      const tooMany = requestQueue<MessageInitShape<typeof WatchOrdersRequestSchema>>();
      tooMany.push({ addOrderIds: Array.from({ length: 101 }, () => uuidv7()) });
      expect(await codeOf(collect(orders.watchOrders(tooMany, await as(a.userId))))).toBe(Code.ResourceExhausted);
    });

    it("StreamOrders sends current statuses, then transitions, and ends normally when every order is final", async () => {
      const done = await placed();
      await publish(stockRejected(done.orderId, "out_of_stock"));
      const opts = await as(done.userId);
      await fill(done.userId, [[MOKA.id, 1]]);
      const open = await orders.placeOrder({}, opts);

      const received: OrderStatusUpdate[] = [];
      const streaming = (async () => {
        for await (const res of orders.streamOrders({ orderIds: [done.orderId, open.orderId] }, opts)) received.push(res.update!);
      })();
      await vi.waitFor(() => expect(received).toHaveLength(2), { timeout: 10_000, interval: 10 });
      expect(received.map((u) => [u.orderId, OrderStatus[u.status]])).toEqual(
        expect.arrayContaining([
          [done.orderId, "CANCELLED"],
          [open.orderId, "PENDING"],
        ]),
      );
      expect(received.find((u) => u.orderId === done.orderId)?.cancelReason).toBe("out_of_stock");

      await publish(paymentSucceeded(open.orderId, { amountCents: MOKA.priceCents }));
      await streaming; // ends by itself: both orders are final now
      expect(received.slice(2).map(describeUpdate)).toEqual([
        "STOCK_RESERVED (PENDING→STOCK_RESERVED:stock_reserved)",
        "PAID (STOCK_RESERVED→PAID:paid)",
      ]);

      // Only final orders: the current statuses, then the end.
      expect((await collect(orders.streamOrders({ orderIds: [done.orderId] }, opts))).map((r) => OrderStatus[r.update!.status])).toEqual([
        "CANCELLED",
      ]);
      const many = Array.from({ length: 101 }, () => uuidv7());
      expect(await codeOf(collect(orders.streamOrders({ orderIds: many }, opts)))).toBe(Code.ResourceExhausted);
      expect(await codeOf(collect(orders.streamOrders({ orderIds: [uuidv7()] }, opts)))).toBe(Code.NotFound);
    });

    it("ListOrders pages the caller's orders newest first; ListAllOrders pages everyone's oldest first, filtered", async () => {
      const userId = uuidv7();
      const opts = await as(userId);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        await fill(userId, [[CUP.id, 1]]);
        ids.push((await orders.placeOrder({}, opts)).orderId);
        // Cart empties itself on OrderPlaced, asynchronously: let it, or it would take the next order's units.
        await cartEmptied(userId);
      }
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await orders.listOrders({ pageSize: 2, pageToken }, opts);
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((o) => o.id));
        for (const o of page.items) expect(o.items.length).toBeGreaterThan(0);
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
      expect((await orders.listOrders({}, opts)).items.map((o) => o.id)).toEqual([...ids].reverse());

      await publish(stockRejected(ids[1]!, "out_of_stock"), stockRejected(ids[3]!, "unknown_product"));
      const all = await orders.listAllOrders({ userId, pageSize: 3 });
      const rest = await orders.listAllOrders({ userId, pageSize: 3, pageToken: all.nextPageToken });
      expect([...all.items, ...rest.items].map((o) => o.id)).toEqual(ids);
      expect(rest.nextPageToken).toBe("");
      const cancelled = await orders.listAllOrders({ userId, statuses: [OrderStatus.CANCELLED] });
      expect(cancelled.items.map((o) => o.id)).toEqual([ids[1], ids[3]]);
      const stuck = await orders.listAllOrders({ userId, statuses: [OrderStatus.PENDING], updatedBefore: timestampFromDate(new Date()) });
      expect(stuck.items.map((o) => o.id)).toEqual([ids[0], ids[2], ids[4]]);
      const none = await orders.listAllOrders({ userId, updatedBefore: timestampFromDate(new Date(Date.now() - 3_600_000)) });
      expect(none.items).toEqual([]);
    });

    it("ListAllOrders finds the orders placed with an email address, ignoring case; the order shows the address of its token", async () => {
      const userId = uuidv7();
      const email = `Ada.${userId}@Example.com`;
      await fill(userId, [[CUP.id, 1]]);
      const { orderId } = await orders.placeOrder({}, await issuer.as(userId, email));
      expect((await getOrder(userId, orderId)).email).toBe(email);
      const found = await orders.listAllOrders({ email: email.toLowerCase() });
      expect(found.items.map((o) => [o.id, o.email])).toEqual([[orderId, email]]);
      expect((await orders.listAllOrders({ email: email.toUpperCase(), statuses: [OrderStatus.PENDING] })).items).toHaveLength(1);
      expect((await orders.listAllOrders({ email: email.toUpperCase(), statuses: [OrderStatus.PAID] })).items).toEqual([]);
      expect((await orders.listAllOrders({ email: `other.${userId}@example.com` })).items).toEqual([]);
      expect(await violatedFieldsOf(orders.listAllOrders({ email: "not an address" }))).toEqual(["email"]);
      // A token without an address places an order without one.
      const { orderId: anonymous } = await placed();
      expect((await orders.getAnyOrder({ orderId: anonymous })).order?.email).toBe("");
    });

    describe("an operator's CancelOrder", () => {
      const cancel = (orderId: string, reason = "shopper called") => orders.cancelOrder({ orderId, reason });
      const auditOf = async (orderId: string) => {
        const ops = createTestClient(OperationsService, `${host}:${service.port}`, { serverWorkload: "order" });
        try {
          return (await ops.listAudit({ pageSize: 100 })).items.filter((a) => a.target === orderId);
        } finally {
          closeClient(ops);
        }
      };
      const paymentOf = (userId: string, orderId: string) => payment.payments.getPayment({ orderId }, userId);

      it("cancels a PENDING order: CANCELLED by the operator, in its history, audited, OrderCancelled written once; again returns it as is", async () => {
        const { userId, orderId } = await placed([[MOKA.id, 2]]);
        const res = await cancel(orderId, "  shopper called  ");
        expect(res.order).toMatchObject({ id: orderId, status: OrderStatus.CANCELLED, cancelReason: "operator" });
        expect(transitions(res.order?.history).slice(1)).toEqual(["PENDING→CANCELLED:operator"]);
        expect((await getOrder(userId, orderId)).status).toBe(OrderStatus.CANCELLED);
        await m.waitForEvent(OrderCancelledSchema, orderId);
        expect(eventsOf(OrderCancelledSchema, orderId)[0]).toMatchObject({
          userId,
          reason: "operator",
          previousStatus: OrderStatus.PENDING,
          totalCents: 2 * MOKA.priceCents,
        });
        const audit = await auditOf(orderId);
        expect(audit.map((a) => [a.action, a.reason, a.details?.from])).toEqual([["order.cancel", "shopper called", "PENDING"]]);

        const again = await cancel(orderId, "twice");
        expect(again.order).toMatchObject({ status: OrderStatus.CANCELLED, cancelReason: "operator" });
        expect(again.order?.history).toHaveLength(2);
        expect(await outboxTypes(orderId)).toEqual([OrderPlacedSchema.typeName, OrderCancelledSchema.typeName]);
        expect(await auditOf(orderId)).toHaveLength(1);
      });

      it("cancels an order whose payment then succeeds: the charge is refunded, the order stays CANCELLED", async () => {
        const { userId, orderId } = await placed();
        // The operator cancels; the catalog's StockReserved was on its way and the payment service charges on it.
        const res = await cancel(orderId);
        expect(transitions(res.order?.history).at(-1)).toBe("PENDING→CANCELLED:operator");
        await publish(stockReserved(orderId));
        await vi.waitFor(async () => expect((await paymentOf(userId, orderId)).status).toBe("REFUNDED"), { timeout: 10_000, interval: 20 });
        const refund = await m.waitForEvent(OrderRefundRequestedSchema, orderId);
        expect(refund).toMatchObject({ refundId: "cancelled", amountCents: 0, restock: false });
        expect(refund.paymentId).toBe((await paymentOf(userId, orderId)).id);
        const order = await getOrder(userId, orderId);
        expect(order).toMatchObject({ status: OrderStatus.CANCELLED, cancelReason: "operator", refundedCents: 0 });
        expect(order.history).toHaveLength(2);
      });

      it("cancels an ON_HOLD order and refunds its held payment", async () => {
        const { userId, orderId } = await placed();
        // The payment service charges 1 cent instead of the total: the order is held.
        const checkouts = () =>
          t.db.kysely<{ checkouts: { order_id: string; placed: boolean; amount_cents: number } }>(m.paymentSchema).updateTable("checkouts");
        await vi.waitFor(
          async () => {
            const res = await checkouts()
              .set({ amount_cents: 1 })
              .where("order_id", "=", orderId)
              .where("placed", "=", true)
              .executeTakeFirst();
            expect(res.numUpdatedRows).toBe(1n);
          },
          { timeout: 10_000, interval: 20 },
        );
        await publish(stockReserved(orderId));
        await waitForStatus(userId, orderId, OrderStatus.ON_HOLD);
        const held = await getOrder(userId, orderId);

        const res = await cancel(orderId, "charged the wrong amount");
        expect(res.order).toMatchObject({ status: OrderStatus.CANCELLED, cancelReason: "operator", paymentId: held.paymentId });
        expect(transitions(res.order?.history).at(-1)).toBe("ON_HOLD→CANCELLED:operator");
        await vi.waitFor(async () => expect((await paymentOf(userId, orderId)).status).toBe("REFUNDED"), { timeout: 10_000, interval: 20 });
        expect(eventsOf(OrderCancelledSchema, orderId)[0]).toMatchObject({ reason: "operator", previousStatus: OrderStatus.ON_HOLD });
        expect(eventsOf(OrderRefundRequestedSchema, orderId)).toHaveLength(1);
        expect((await auditOf(orderId))[0]?.details).toMatchObject({ from: "ON_HOLD", refund_requested: true, payment_id: held.paymentId });
        expect((await getOrder(userId, orderId)).status).toBe(OrderStatus.CANCELLED);
      });

      it("refuses a paid order (FAILED_PRECONDITION), an unknown one (NOT_FOUND) and a missing or long reason (INVALID_ARGUMENT)", async () => {
        const { userId, orderId } = await placed();
        await publish(stockReserved(orderId));
        await waitForStatus(userId, orderId, OrderStatus.PAID);
        expect(await codeOf(cancel(orderId))).toBe(Code.FailedPrecondition);
        expect((await getOrder(userId, orderId)).status).toBe(OrderStatus.PAID);
        expect(await codeOf(cancel(uuidv7()))).toBe(Code.NotFound);
        expect(await violatedFieldsOf(cancel(orderId, ""))).toEqual(["reason"]);
        expect(await violatedFieldsOf(cancel(orderId, "x".repeat(201)))).toEqual(["reason"]);
        expect(await violatedFieldsOf(orders.cancelOrder({ orderId: "nope", reason: "" }))).toEqual(["order_id", "reason"]);
      });

      it("concurrent cancels of one order make one transition and one OrderCancelled", async () => {
        const { orderId } = await placed();
        const results = await Promise.all([cancel(orderId), cancel(orderId), cancel(orderId)]);
        for (const r of results) expect(r.order?.status).toBe(OrderStatus.CANCELLED);
        expect(await outboxTypes(orderId)).toEqual([OrderPlacedSchema.typeName, OrderCancelledSchema.typeName]);
        expect(await auditOf(orderId)).toHaveLength(1);
      });
    });
  });

  describe(`checkout end to end, the catalog on the bus (${backend.name})`, () => {
    const t: TestDatabase = useTestDatabase(backend);
    const m = new CheckoutMesh(t, true);
    beforeAll(() => m.start());
    afterAll(() => m.stop());

    const product = async (id: string, onHand: number) => {
      await m.catalog.catalog.addProducts([
        {
          id,
          name: id,
          description: "",
          priceCents: 2500,
          currency: "EUR",
          imageUrl: `/images/${id}.svg`,
          categories: ["kitchen"],
          onHand,
        },
      ]);
      return id;
    };
    const available = async (id: string) => (await m.catalog.catalog.getProduct(id)).available;

    it("the catalog reserves, the payment service charges: the order is PAID and the stock taken", async () => {
      const id = await product("e2e-kettle", 5);
      const { userId, orderId } = await m.placed([[id, 2]], { cardNumber: CARD_OK });
      const updates: OrderStatusUpdate[] = [];
      for await (const res of m.orders.streamOrders({ orderIds: [orderId] }, await as(userId))) updates.push(res.update!);
      expect(OrderStatus[updates.at(-1)!.status]).toBe("PAID"); // the stream ended by itself
      const order = await m.getOrder(userId, orderId);
      expect(transitions(order.history)).toEqual([
        "UNSPECIFIED→PENDING:placed",
        "PENDING→STOCK_RESERVED:stock_reserved",
        "STOCK_RESERVED→PAID:paid",
      ]);
      expect(await available(id)).toBe(3);
      expect(await m.waitForEvent(OrderPaidSchema, orderId)).toMatchObject({ userId, paymentId: order.paymentId, totalCents: 5000 });
    });

    it("a declined card cancels the order with payment_declined and the catalog puts the stock back", async () => {
      const id = await product("e2e-grinder", 4);
      const { userId, orderId } = await m.placed([[id, 3]], { cardNumber: CARD_DECLINED });
      await m.waitForStatus(userId, orderId, OrderStatus.CANCELLED);
      expect((await m.getOrder(userId, orderId)).cancelReason).toBe("payment_declined");
      await vi.waitFor(async () => expect(await available(id)).toBe(4), { timeout: 10_000, interval: 10 });
      expect(await m.waitForEvent(OrderCancelledSchema, orderId)).toMatchObject({
        reason: "payment_declined",
        previousStatus: OrderStatus.STOCK_RESERVED,
      });
    });

    it("more units than in stock: the catalog rejects, the order is CANCELLED out_of_stock, nothing is held or charged", async () => {
      const id = await product("e2e-scale", 1);
      const { userId, orderId } = await m.placed([[id, 3]], { cardNumber: CARD_OK });
      await m.waitForStatus(userId, orderId, OrderStatus.CANCELLED);
      const order = await m.getOrder(userId, orderId);
      expect(order.cancelReason).toBe("out_of_stock");
      expect(transitions(order.history).slice(1)).toEqual(["PENDING→CANCELLED:out_of_stock"]);
      expect(await available(id)).toBe(1);
      await m.bus.drain();
      expect((await m.payment.payments.listPayments({ orderId, pageSize: 0, pageToken: "", statuses: [], userId: "" })).items).toEqual([]);
    });
  });
});
