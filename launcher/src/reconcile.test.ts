import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { demoCatalog } from "@shopmesh/catalog";
import { closeClient, createClient } from "@shopmesh/platform";
import { CatalogService, StockBookSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderSchema, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "./embedded-mesh.js";
import { check } from "./reconcile.js";
import { Shopper } from "./shopper.js";

const reconcileScript = fileURLToPath(new URL("../dist/reconcile-main.js", import.meta.url));

/** Runs `npm run reconcile`'s program against the mesh; resolves to its exit code and output. */
function runReconcile(mesh: EmbeddedMesh): Promise<{ code: number; stdout: string; stderr: string }> {
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
          RECONCILE_SETTLE_SECONDS: "0",
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

    const catalog = createClient(CatalogService, mesh.services.catalog as string);
    const payments = createClient(PaymentService, mesh.services.payment as string);
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

      // The payment service charges the cancelled order through its own (internal) Charge.
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
  const book = create(StockBookSchema, { productId: "p", onHand: 5, reserved: 0, reservedByReservations: 0, adjusted: 5 });

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

  it("reports a paid order without a payment, and stock sold that the catalog no longer holds", () => {
    const report = check(
      { startedAt, reservations: [], books: [book], payments: [], orders: [order("o-1", OrderStatus.PAID, 60_000)] },
      { stuckAfterMs: 300_000, settleMs: 5_000 },
    );
    expect(report.discrepancies.map((d) => d.kind).sort()).toEqual(["paid_without_one_payment", "paid_without_stock", "stock_unbalanced"]);
  });
});
