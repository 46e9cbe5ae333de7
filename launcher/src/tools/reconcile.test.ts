import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { demoCatalog } from "@shopmesh/catalog";
import { closeClient } from "@shopmesh/platform";
import { CatalogService, ReservationSchema, ReservationStatus, StockBookSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OperationsService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { OrderSchema, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentSchema, PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../embedded-mesh.js";
import { check } from "./reconcile.js";
import { Shopper } from "../shopper.js";
import { createTestClient } from "@shopmesh/platform/testing";

const reconcileScript = fileURLToPath(new URL("../../dist/tools/reconcile-main.js", import.meta.url));

/** Runs `npm run reconcile`'s program against the mesh; resolves to its exit code and output. */
function runReconcile(mesh: EmbeddedMesh, settleSeconds = 0): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [reconcileScript],
      {
        env: {
          PATH: process.env.PATH,
          ORDER_ADDR: mesh.services.order,
          PAYMENT_ADDR: mesh.services.payment,
          CATALOG_ADDR: mesh.services.catalog,
          RECONCILE_SETTLE_SECONDS: String(settleSeconds),
          // The tool speaks mutual TLS as "reconcile" with the mesh's certificates.
          ...(mesh.tlsDir ? { SHOPMESH_TLS_DIR: mesh.tlsDir } : {}),
        },
        timeout: 30_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("npm run reconcile against an embedded mesh", () => {
  let mesh: EmbeddedMesh;
  let shoppers = 0;
  const signup = () => Shopper.signup(mesh.url, `reconcile-${++shoppers}@example.com`);

  beforeAll(async () => {
    mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  it("passes after checkouts that were paid or cancelled, and names a charge of a cancelled order and stock held for no order", async () => {
    const [a, b, c] = demoCatalog;
    if (!a || !b || !c) throw new Error("the demo catalog is too small");
    const paid = await signup();
    await paid.addItem(a.id, 2);
    await paid.addItem(b.id, 1);
    const paidOrder = await paid.waitFinal((await paid.checkout()).order_id);
    expect(paidOrder.status).toBe("paid");

    const declined = await signup();
    await declined.addItem(a.id, 1);
    const declinedOrder = await declined.waitFinal((await declined.checkout({ cardNumber: "4000 0000 0000 0002" })).order_id);
    expect(declinedOrder.status).toBe("cancelled");

    const catalog = createTestClient(CatalogService, mesh.services.catalog as string);
    const payments = createTestClient(PaymentService, mesh.services.payment as string);
    try {
      // Only one unit left of c: an order of two is cancelled out_of_stock, and never charged.
      const { product } = await catalog.getProduct({ id: c.id });
      await catalog.adjustStock({ productId: c.id, delta: 1 - (product?.stock ?? 0), reason: "recount" });
      const short = await signup();
      await short.addItem(c.id, 2);
      const shortOrder = await short.waitFinal((await short.checkout()).order_id);
      expect(shortOrder).toMatchObject({ status: "cancelled", cancel_reason: "out_of_stock" });

      const clean = await runReconcile(mesh);
      expect(clean.stderr).toBe("");
      expect(clean.stdout).toContain("books balanced");
      expect(clean.code).toBe(0);

      // The payment service charges the cancelled order through its own (internal) Charge, and the
      // order service does not hear of it (its consumer fails on PaymentSucceeded), so the charge
      // is never given back as the order would give it back.
      const orderOps = createTestClient(OperationsService, mesh.services.order as string, { serverWorkload: "order" });
      try {
        await orderOps.setFaults({
          faults: { events: { "shop.payment.v1.PaymentSucceeded": "code=FAILED_PRECONDITION" } },
          reason: "a consumer that fails",
        });
      } finally {
        closeClient(orderOps);
      }
      await payments.charge({ orderId: shortOrder.id, userId: short.userId, amountCents: shortOrder.total_cents, currency: "EUR" });
      // And the catalog holds stock for an order that does not exist.
      await catalog.reserveStock({ orderId: "no-such-order", items: [{ productId: a.id, quantity: 1 }] });

      const broken = await runReconcile(mesh);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain(`DISCREPANCY cancelled_with_charge: order ${shortOrder.id}`);
      expect(broken.stdout).toContain("DISCREPANCY stock_held_without_order: reservation no-such-order");
      expect(broken.stdout).not.toContain(paidOrder.id);
      expect(broken.stdout).toContain("2 discrepancies");
    } finally {
      closeClient(catalog);
      closeClient(payments);
    }
  });
});

describe("npm run reconcile against an embedded mesh whose order service never hears of a payment", () => {
  let mesh: EmbeddedMesh;

  beforeAll(async () => {
    // Every delivery of PaymentSucceeded fails (the bus keeps retrying): orders are charged and stay STOCK_RESERVED.
    mesh = await startEmbedded({
      ...process.env,
      EDGE_PORT: "0",
      LOG_LEVEL: "silent",
      SHOPMESH_DATA_DIR: "memory",
      FAULTS_ENABLED: "true",
      FAULTS_EVENTS: "shop.payment.v1.PaymentSucceeded=code=UNAVAILABLE",
    });
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  it("names a succeeded payment of an order left STOCK_RESERVED at once, and not within the settle window", async () => {
    const product = demoCatalog[0];
    if (!product) throw new Error("the demo catalog is empty");
    const shopper = await Shopper.signup(mesh.url, "reconcile-unpaid@example.com");
    await shopper.addItem(product.id, 1);
    const { order_id: orderId } = await shopper.checkout();
    const payments = createTestClient(PaymentService, mesh.services.payment as string);
    try {
      await expect
        .poll(async () => (await payments.listPayments({ orderId })).items.map((p) => p.status), { timeout: 10_000, interval: 20 })
        .toEqual([PaymentStatus.SUCCEEDED]);
    } finally {
      closeClient(payments);
    }
    expect((await shopper.order(orderId)).status).toBe("stock_reserved");

    const now = await runReconcile(mesh);
    expect(now.code).toBe(1);
    expect(now.stdout).toContain(`DISCREPANCY charged_order_unpaid: order ${orderId}`);
    expect(now.stdout).toContain("1 discrepancies");

    const settling = await runReconcile(mesh, 3_600);
    expect(settling.stdout).toContain("books balanced");
    expect(settling.code).toBe(0);
  });
});

describe("reconciliation rules", () => {
  const startedAt = new Date("2026-01-01T12:00:00Z");
  const order = (id: string, status: OrderStatus, updatedMsAgo: number) =>
    create(OrderSchema, {
      id,
      status,
      totalCents: 100,
      currency: "EUR",
      items: [{ productId: "p", quantity: 1 }],
      updatedAt: timestampFromMs(startedAt.getTime() - updatedMsAgo),
    });
  const payment = (orderId: string, status: PaymentStatus, updatedMsAgo: number, id = `pay-${orderId}`) =>
    create(PaymentSchema, {
      id,
      orderId,
      status,
      amountCents: 100,
      currency: "EUR",
      createdAt: timestampFromMs(startedAt.getTime() - updatedMsAgo - 1_000),
      updatedAt: timestampFromMs(startedAt.getTime() - updatedMsAgo),
    });
  const reservation = (orderId: string, status: ReservationStatus) =>
    create(ReservationSchema, { orderId, status, items: [{ productId: "p", quantity: 1 }] });
  /** Five units received, `reserved` of them held by reservations. */
  const bookOf = (reserved: number) =>
    create(StockBookSchema, { productId: "p", onHand: 5, reserved, reservedByReservations: reserved, adjusted: 5 });
  const book = bookOf(0);
  const kinds = (report: ReturnType<typeof check>) => report.discrepancies.map((d) => [d.kind, d.subject]).sort();

  it("reports an order left pending past the bound, and leaves recent changes out of the cross-service checks", () => {
    const report = check(
      {
        startedAt,
        reservations: [],
        books: [book],
        payments: [],
        orders: [
          order("o-stuck", OrderStatus.PENDING, 600_000),
          order("o-new", OrderStatus.PENDING, 1_000),
          order("o-paid-now", OrderStatus.PAID, 1_000),
        ],
      },
      { stuckAfterMs: 300_000, settleMs: 5_000 },
    );
    expect(report.discrepancies.map((d) => [d.kind, d.subject])).toEqual([["stuck_order", "order o-stuck"]]);
    expect(report.settling).toBe(2);
  });

  it("a reservation made between the listing of reservations and the read of the books leaves the stock balanced", () => {
    const report = check(
      { startedAt, reservations: [], books: [bookOf(1)], payments: [], orders: [order("o-new", OrderStatus.PENDING, 100)] },
      { stuckAfterMs: 300_000, settleMs: 5_000 },
    );
    expect(report.discrepancies).toEqual([]);
  });

  it("reports a paid order without a payment, and stock sold that the catalog no longer holds", () => {
    const report = check(
      { startedAt, reservations: [], books: [book], payments: [], orders: [order("o-1", OrderStatus.PAID, 60_000)] },
      { stuckAfterMs: 300_000, settleMs: 5_000 },
    );
    expect(report.discrepancies.map((d) => d.kind).sort()).toEqual(["paid_without_one_payment", "paid_without_stock", "stock_unbalanced"]);
  });

  it("counts refunds: a refunded order balances when its payment refunded as much, and is reported when not", () => {
    const refunded = (id: string, status: OrderStatus, refundedCents: number) =>
      create(OrderSchema, { ...order(id, status, 60_000), paymentId: `pay-${id}`, refundedCents });
    const refundedPayment = (orderId: string, status: PaymentStatus, refundedCents: number) =>
      create(PaymentSchema, { ...payment(orderId, status, 60_000), refundedCents });
    const input = (orders: ReturnType<typeof refunded>[], payments: ReturnType<typeof refundedPayment>[]) => ({
      startedAt,
      reservations: orders.map((o) => reservation(o.id, ReservationStatus.RESERVED)),
      // Every unit sold and held by its paid order's reservation; none left on the shelf.
      books: [bookOf(orders.length)].map((b) => create(StockBookSchema, { ...b, onHand: orders.length, adjusted: orders.length })),
      payments,
      orders,
    });
    const opts = { stuckAfterMs: 300_000, settleMs: 5_000 };
    const clean = check(
      input(
        [refunded("o-full", OrderStatus.REFUNDED, 100), refunded("o-part", OrderStatus.PARTIALLY_REFUNDED, 40)],
        [refundedPayment("o-full", PaymentStatus.REFUNDED, 100), refundedPayment("o-part", PaymentStatus.SUCCEEDED, 40)],
      ),
      opts,
    );
    expect(clean.discrepancies).toEqual([]);
    expect(clean.money.EUR).toEqual({ charged: 200, refunded: 140, paid: 200, refundedByOrders: 140 });

    const off = check(
      input(
        [refunded("o-full", OrderStatus.REFUNDED, 100), refunded("o-paid", OrderStatus.PAID, 0)],
        [refundedPayment("o-full", PaymentStatus.SUCCEEDED, 60), refundedPayment("o-paid", PaymentStatus.SUCCEEDED, 100)],
      ),
      opts,
    );
    expect(kinds(off)).toEqual([
      ["refund_mismatch", "order o-full"],
      ["refund_mismatch", "order o-full"],
      ["refund_not_applied", "order o-paid"],
    ]);
  });

  it("reports a succeeded payment for an unpaid order at once (without the stuck bound), and not while it is within the settle window", () => {
    const report = check(
      {
        startedAt,
        reservations: ["o-reserved", "o-pending", "o-just-charged", "o-just-reserved"].map((id) =>
          reservation(id, ReservationStatus.RESERVED),
        ),
        books: [bookOf(4)],
        payments: [
          payment("o-reserved", PaymentStatus.SUCCEEDED, 30_000),
          payment("o-pending", PaymentStatus.SUCCEEDED, 30_000),
          // Charged a moment ago: its PaymentSucceeded may be on the way to an order waiting since long.
          payment("o-just-charged", PaymentStatus.SUCCEEDED, 1_000),
          payment("o-just-reserved", PaymentStatus.SUCCEEDED, 30_000),
        ],
        orders: [
          order("o-reserved", OrderStatus.STOCK_RESERVED, 60_000),
          // Heard of neither its reservation nor its payment.
          order("o-pending", OrderStatus.PENDING, 60_000),
          order("o-just-charged", OrderStatus.STOCK_RESERVED, 60_000),
          order("o-just-reserved", OrderStatus.STOCK_RESERVED, 1_000),
        ],
      },
      { stuckAfterMs: 3_600_000, settleMs: 5_000 },
    );
    expect(kinds(report)).toEqual([
      ["charged_order_unpaid", "order o-pending"],
      ["charged_order_unpaid", "order o-reserved"],
    ]);
    expect(report.settling).toBe(2);

    const later = check(
      {
        startedAt,
        reservations: [reservation("o-just-charged", ReservationStatus.RESERVED)],
        books: [bookOf(1)],
        payments: [payment("o-just-charged", PaymentStatus.SUCCEEDED, 1_000)],
        orders: [order("o-just-charged", OrderStatus.STOCK_RESERVED, 60_000)],
      },
      { stuckAfterMs: 3_600_000, settleMs: 500 },
    );
    expect(kinds(later)).toEqual([["charged_order_unpaid", "order o-just-charged"]]);
  });

  it("reports an order held for an operator at once, with its reason and payment, and never as stuck or unpaid", () => {
    const held = create(OrderSchema, {
      ...order("o-held", OrderStatus.ON_HOLD, 1_000),
      holdReason: "payment_amount_mismatch",
      paymentId: "pay-o-held",
    });
    const report = check(
      {
        startedAt,
        reservations: [reservation("o-held", ReservationStatus.RESERVED)],
        books: [bookOf(1)],
        payments: [create(PaymentSchema, { ...payment("o-held", PaymentStatus.SUCCEEDED, 1_000), amountCents: 1 })],
        orders: [
          held,
          create(OrderSchema, { ...held, id: "o-held-long", paymentId: "", updatedAt: timestampFromMs(startedAt.getTime() - 7_200_000) }),
        ],
      },
      { stuckAfterMs: 3_600_000, settleMs: 5_000 },
    );
    expect(kinds(report)).toEqual([
      ["order_on_hold", "order o-held"],
      ["order_on_hold", "order o-held-long"],
    ]);
    expect(report.discrepancies.find((d) => d.subject === "order o-held")?.detail).toContain("pay-o-held");
  });

  it("reports a paid order without exactly one successful payment at once (without the stuck bound)", () => {
    const report = check(
      {
        startedAt,
        reservations: ["o-none", "o-two", "o-refunded", "o-one"].map((id) => reservation(id, ReservationStatus.RESERVED)),
        books: [bookOf(4)],
        payments: [
          payment("o-two", PaymentStatus.SUCCEEDED, 30_000, "pay-1"),
          payment("o-two", PaymentStatus.SUCCEEDED, 30_000, "pay-2"),
          payment("o-refunded", PaymentStatus.REFUNDED, 30_000),
          payment("o-one", PaymentStatus.SUCCEEDED, 30_000),
        ],
        orders: ["o-none", "o-two", "o-refunded", "o-one"].map((id) => order(id, OrderStatus.PAID, 10_000)),
      },
      { stuckAfterMs: 3_600_000, settleMs: 5_000 },
    );
    expect(kinds(report)).toEqual([
      ["paid_without_one_payment", "order o-none"],
      ["paid_without_one_payment", "order o-refunded"],
      ["paid_without_one_payment", "order o-two"],
    ]);
  });

  it("reports a cancelled order that was charged or still holds stock, and not the stock held for an order still on its way", () => {
    const report = check(
      {
        startedAt,
        reservations: [
          reservation("o-cancelled-holding", ReservationStatus.RESERVED),
          reservation("o-cancelled-released", ReservationStatus.RELEASED),
          reservation("o-cancelled-charged", ReservationStatus.RELEASED),
          reservation("o-reserved", ReservationStatus.RESERVED),
          reservation("o-pending", ReservationStatus.RESERVED),
        ],
        books: [bookOf(3)],
        payments: [
          payment("o-cancelled-released", PaymentStatus.FAILED, 30_000),
          payment("o-cancelled-charged", PaymentStatus.SUCCEEDED, 30_000),
          payment("o-reserved", PaymentStatus.PENDING, 30_000),
        ],
        orders: [
          order("o-cancelled-holding", OrderStatus.CANCELLED, 10_000),
          order("o-cancelled-released", OrderStatus.CANCELLED, 10_000),
          order("o-cancelled-charged", OrderStatus.CANCELLED, 10_000),
          // Not final, long past the settle window (not past the stuck bound): a saga in flight.
          order("o-reserved", OrderStatus.STOCK_RESERVED, 60_000),
          order("o-pending", OrderStatus.PENDING, 60_000),
        ],
      },
      { stuckAfterMs: 3_600_000, settleMs: 5_000 },
    );
    expect(kinds(report)).toEqual([
      ["cancelled_holding_stock", "order o-cancelled-holding"],
      ["cancelled_with_charge", "order o-cancelled-charged"],
    ]);
  });
});
