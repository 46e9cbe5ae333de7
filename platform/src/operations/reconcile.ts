/**
 * Reconciliation: the business invariants of a running mesh, checked across the books of order
 * (ListAllOrders), payment (ListPayments) and catalog (ListStockBooks, ListReservations), read
 * through their operator RPCs. One implementation serves `npm run reconcile` (the launcher's
 * tools/reconcile-main.ts, as the `reconcile` workload) and the edge's
 * OperationsConsoleService.GetInvariants (with the operator's token).
 */
import type { CatalogService, Reservation, StockBook } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { ReservationStatus } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { type Order, type OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { type Payment, type PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import type { CallOptions, Client } from "../grpc/client.js";

/** Where the books are read: clients of the three services (only their listings are called). */
export interface BookSources {
  readonly catalog: Pick<Client<typeof CatalogService>, "listReservations" | "listStockBooks">;
  readonly payments: Pick<Client<typeof PaymentService>, "listPayments">;
  readonly orders: Pick<Client<typeof OrderService>, "listAllOrders">;
}

/** The bounds of a check. */
export interface CheckOptions {
  /** An order still PENDING or STOCK_RESERVED this long after its last change is stuck. */
  readonly stuckAfterMs: number;
  /**
   * Orders changed within this long before the check began, or whose payment changed within it,
   * are left out of the cross-service checks: the events that follow a change (a payment's
   * result, a release) may still be on their way. Nothing else waits: a settled order whose
   * books disagree is reported at once, however young.
   */
  readonly settleMs: number;
}

/** One thing that does not add up. */
export interface Discrepancy {
  /** What kind of discrepancy, e.g. "cancelled_with_charge". */
  readonly kind: string;
  /** What it is about: "order <id>", "product <id>", "payment <id>". */
  readonly subject: string;
  readonly detail: string;
}

export interface ReconcileReport {
  readonly startedAt: Date;
  readonly counts: { readonly orders: number; readonly payments: number; readonly products: number; readonly reservations: number };
  /** Orders by status name, and how many were too recent for the cross-service checks. */
  readonly orders: Readonly<Record<string, number>>;
  readonly settling: number;
  /**
   * Money of the orders checked across services, per currency, in cents: what their payments
   * charged and refunded, and what the orders say was paid and refunded. Kept apart they show
   * a refund that reached one side only.
   */
  readonly money: Readonly<Record<string, { charged: number; refunded: number; paid: number; refundedByOrders: number }>>;
  readonly discrepancies: readonly Discrepancy[];
}

/**
 * Statuses no checkout event moves on: paid (only an operator's refund moves it on), final, or
 * waiting for an operator (ON_HOLD, reported as such).
 */
const SETTLED_STATUSES = new Set([
  OrderStatus.PAID,
  OrderStatus.CANCELLED,
  OrderStatus.ON_HOLD,
  OrderStatus.PARTIALLY_REFUNDED,
  OrderStatus.REFUNDED,
]);
/** Orders that were paid: their units left the shelf (refunded ones that came back were restocked by adjustments). */
const SOLD_STATUSES = new Set([OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED]);

/** Reads the books of the three services, each call with `call` (a token, a deadline), and checks them against each other. */
export async function reconcileBooks(sources: BookSources, opts: CheckOptions, call: CallOptions = {}): Promise<ReconcileReport> {
  const { catalog, payments, orders } = sources;
  const startedAt = new Date();
  // Read in the saga's order backwards: whatever a later read shows (an order) existed before
  // what an earlier read shows of it (its reservation, its payment), so nothing is missed.
  const reservations = await allPages((pageToken) => catalog.listReservations({ pageSize: 500, pageToken }, call));
  const books = await allPages((pageToken) => catalog.listStockBooks({ pageSize: 500, pageToken }, call));
  const paymentList = await allPages((pageToken) => payments.listPayments({ pageSize: 500, pageToken }, call));
  const orderList = await allPages((pageToken) => orders.listAllOrders({ pageSize: 500, pageToken }, call));
  return checkBooks({ startedAt, reservations, books, payments: paymentList, orders: orderList }, opts);
}

/** Every item of a paged listing, page after page. */
export async function allPages<T>(page: (token: string) => Promise<{ items: T[]; nextPageToken: string }>): Promise<T[]> {
  const out: T[] = [];
  let token = "";
  do {
    const res = await page(token);
    out.push(...res.items);
    token = res.nextPageToken;
  } while (token !== "");
  return out;
}

/** The books as read, checked against each other (no I/O: the rules of reconciliation). */
export function checkBooks(
  data: {
    readonly startedAt: Date;
    readonly reservations: readonly Reservation[];
    readonly books: readonly StockBook[];
    readonly payments: readonly Payment[];
    readonly orders: readonly Order[];
  },
  opts: CheckOptions,
): ReconcileReport {
  const out: Discrepancy[] = [];
  const now = data.startedAt.getTime();
  const add = (kind: string, subject: string, detail: string) => out.push({ kind, subject, detail });
  const ordersById = new Map(data.orders.map((o) => [o.id, o]));
  const paymentsByOrder = new Map<string, Payment[]>();
  for (const p of data.payments) paymentsByOrder.set(p.orderId, [...(paymentsByOrder.get(p.orderId) ?? []), p]);
  const reservationsByOrder = new Map(data.reservations.map((r) => [r.orderId, r]));
  const statusCounts: Record<string, number> = {};
  const beforeWindow = (t: { seconds: bigint; nanos: number } | undefined) => now - msOf(t) >= opts.settleMs;
  /**
   * Orders checked across services: their last change and their payments' are older than the
   * settle window. A payment that just succeeded has its PaymentSucceeded on the way to an order
   * that may have been waiting for it for long.
   */
  const settled = new Set<string>();
  for (const o of data.orders) {
    const name = OrderStatus[o.status] ?? String(o.status);
    statusCounts[name] = (statusCounts[name] ?? 0) + 1;
    const payments = paymentsByOrder.get(o.id) ?? [];
    if (beforeWindow(o.updatedAt) && payments.every((p) => beforeWindow(p.updatedAt ?? p.createdAt))) settled.add(o.id);
  }

  for (const o of data.orders) {
    const subject = `order ${o.id}`;
    const age = now - msOf(o.updatedAt);
    if (o.status === OrderStatus.ON_HOLD) {
      // Held because its payment was not its total: an operator's case, reported at once.
      const held = (paymentsByOrder.get(o.id) ?? []).filter((p) => p.id === o.paymentId || p.status === PaymentStatus.SUCCEEDED);
      add(
        "order_on_hold",
        subject,
        `on hold (${o.holdReason}): total ${money(o.totalCents, o.currency)}, payment ${o.paymentId}` +
          (held.length > 0 ? ` (${describePayments(held)})` : ""),
      );
    }
    if (!SETTLED_STATUSES.has(o.status) && age > opts.stuckAfterMs) {
      add(
        "stuck_order",
        subject,
        `${OrderStatus[o.status]} for ${Math.round(age / 1000)} s (bound ${Math.round(opts.stuckAfterMs / 1000)} s)`,
      );
    }
    if (!settled.has(o.id)) continue;
    const paid = paymentsByOrder.get(o.id) ?? [];
    const succeeded = paid.filter((p) => p.status === PaymentStatus.SUCCEEDED);
    const reservation = reservationsByOrder.get(o.id);
    // A refund asked for long ago that the payment never completed.
    for (const r of o.refunds) {
      const waited = now - msOf(r.requestedAt);
      if (!r.completed && waited > opts.stuckAfterMs) {
        add(
          "stuck_refund",
          subject,
          `refund ${r.id} of ${money(r.amountCents, o.currency)} not completed after ${Math.round(waited / 1000)} s`,
        );
      }
    }
    if (o.status === OrderStatus.PARTIALLY_REFUNDED || o.status === OrderStatus.REFUNDED) {
      // Money: what the payment gave back is what the order's completed refunds say.
      const p = paid.find((x) => x.id === o.paymentId);
      if (!p) add("refunded_without_payment", subject, `${OrderStatus[o.status]}, but its payment ${o.paymentId} is missing`);
      else {
        if (p.refundedCents !== o.refundedCents) {
          add(
            "refund_mismatch",
            subject,
            `refunded ${money(o.refundedCents, o.currency)} by the order, ${money(p.refundedCents, p.currency)} by payment ${p.id}`,
          );
        }
        const whole = o.status === OrderStatus.REFUNDED;
        if (whole !== (p.status === PaymentStatus.REFUNDED) || (whole && o.refundedCents !== o.totalCents)) {
          add(
            "refund_mismatch",
            subject,
            `${OrderStatus[o.status]} (${money(o.refundedCents, o.currency)}), payment ${PaymentStatus[p.status]}`,
          );
        }
      }
      if (reservation?.status !== ReservationStatus.RESERVED) {
        add(
          "paid_without_stock",
          subject,
          `refunded, but its reservation is ${reservation ? ReservationStatus[reservation.status] : "missing"}`,
        );
      }
    } else if (o.status === OrderStatus.PAID) {
      const refundedByPayment = succeeded.reduce((sum, p) => sum + p.refundedCents, 0);
      if (refundedByPayment > 0 && o.refunds.every((r) => r.completed)) {
        add("refund_not_applied", subject, `paid, but its payment refunded ${money(refundedByPayment, o.currency)}`);
      }
      if (succeeded.length !== 1) {
        add("paid_without_one_payment", subject, `paid, with ${succeeded.length} successful payments (${describePayments(paid)})`);
      } else {
        const p = succeeded[0] as Payment;
        if (p.amountCents !== o.totalCents || p.currency !== o.currency) {
          add(
            "paid_amount_mismatch",
            subject,
            `total ${money(o.totalCents, o.currency)}, charged ${money(p.amountCents, p.currency)} (payment ${p.id})`,
          );
        }
      }
      if (reservation?.status !== ReservationStatus.RESERVED) {
        add(
          "paid_without_stock",
          subject,
          `paid, but its reservation is ${reservation ? ReservationStatus[reservation.status] : "missing"}`,
        );
      } else if (!sameItems(o, reservation)) {
        add("paid_without_stock", subject, "paid, but its reservation holds other items than the order's");
      }
    } else if (o.status === OrderStatus.PENDING || o.status === OrderStatus.STOCK_RESERVED) {
      // Its stock may be held (the saga is on its way), but a successful charge must have made it PAID.
      if (succeeded.length > 0)
        add("charged_order_unpaid", subject, `${OrderStatus[o.status]}, but charged: ${describePayments(succeeded)}`);
    } else if (o.status === OrderStatus.CANCELLED) {
      const charged = paid.filter((p) => p.status === PaymentStatus.SUCCEEDED || p.status === PaymentStatus.PENDING);
      if (charged.length > 0)
        add("cancelled_with_charge", subject, `cancelled (${o.cancelReason}), but charged: ${describePayments(charged)}`);
      if (reservation?.status === ReservationStatus.RESERVED)
        add("cancelled_holding_stock", subject, "cancelled, but its stock is still reserved");
    }
  }

  for (const p of data.payments) {
    if (!ordersById.has(p.orderId) && (p.status === PaymentStatus.SUCCEEDED || p.status === PaymentStatus.PENDING)) {
      add(
        "charge_without_order",
        `payment ${p.id}`,
        `${PaymentStatus[p.status]} ${money(p.amountCents, p.currency)} for unknown order ${p.orderId}`,
      );
    }
  }
  for (const r of data.reservations) {
    if (r.status === ReservationStatus.RESERVED && !ordersById.has(r.orderId)) {
      add(
        "stock_held_without_order",
        `reservation ${r.orderId}`,
        `holds ${r.items.map((i) => `${i.quantity}×${i.productId}`).join(", ")} for an unknown order`,
      );
    }
  }

  // Units: sold (paid orders, refunded ones included, from the order service) + held
  // (reservations of other orders) + available = received (every stock adjustment: the initial
  // stock, operators' adjustments, and refunded units that came back).
  const sold = new Map<string, number>();
  for (const o of data.orders) {
    if (!SOLD_STATUSES.has(o.status) || !settled.has(o.id)) continue;
    for (const i of o.items) sold.set(i.productId, (sold.get(i.productId) ?? 0) + i.quantity);
  }
  // Units the reservations of those orders hold. The units held for other orders are what the
  // book's reservations hold but these: read with the book itself, so that a reservation made or
  // released between the listing of reservations and the read of the books (checkouts go on
  // meanwhile) does not unbalance it.
  const heldForSold = new Map<string, number>();
  for (const r of data.reservations) {
    if (r.status !== ReservationStatus.RESERVED) continue;
    const o = ordersById.get(r.orderId);
    if (!o || !SOLD_STATUSES.has(o.status) || !settled.has(o.id)) continue;
    for (const i of r.items) heldForSold.set(i.productId, (heldForSold.get(i.productId) ?? 0) + i.quantity);
  }
  const books: Record<string, { charged: number; refunded: number; paid: number; refundedByOrders: number }> = {};
  const bookOf = (currency: string) => {
    books[currency] ??= { charged: 0, refunded: 0, paid: 0, refundedByOrders: 0 };
    return books[currency];
  };
  for (const o of data.orders) {
    if (!SOLD_STATUSES.has(o.status) || !settled.has(o.id)) continue;
    const book = bookOf(o.currency);
    book.paid += o.totalCents;
    book.refundedByOrders += o.refundedCents;
    for (const p of paymentsByOrder.get(o.id) ?? []) {
      if (p.status !== PaymentStatus.SUCCEEDED && p.status !== PaymentStatus.REFUNDED) continue;
      const pb = bookOf(p.currency);
      pb.charged += p.amountCents;
      pb.refunded += p.refundedCents;
    }
  }
  // The sums, checked when no order's own money discrepancy already explains a difference.
  const moneyKinds = new Set([
    "paid_without_one_payment",
    "paid_amount_mismatch",
    "refund_mismatch",
    "refund_not_applied",
    "refunded_without_payment",
  ]);
  const orderMoneyReported = out.some((d) => moneyKinds.has(d.kind));
  for (const [currency, m] of Object.entries(books)) {
    if (!orderMoneyReported && m.charged - m.refunded !== m.paid - m.refundedByOrders) {
      add(
        "money_unbalanced",
        `currency ${currency}`,
        `charged ${m.charged} − refunded ${m.refunded} cents by payments, paid ${m.paid} − refunded ${m.refundedByOrders} by orders`,
      );
    }
  }

  for (const b of data.books) {
    const subject = `product ${b.productId}`;
    if (b.onHand !== b.adjusted) add("stock_received_mismatch", subject, `on hand ${b.onHand}, received by adjustments ${b.adjusted}`);
    if (b.reserved !== b.reservedByReservations) {
      add("stock_reserved_mismatch", subject, `reserved ${b.reserved}, held by reservations ${b.reservedByReservations}`);
    }
    const s = sold.get(b.productId) ?? 0;
    const h = b.reservedByReservations - (heldForSold.get(b.productId) ?? 0);
    const available = b.onHand - b.reserved;
    if (s + h + available !== b.adjusted) {
      add("stock_unbalanced", subject, `sold ${s} + held ${h} + available ${available} = ${s + h + available}, received ${b.adjusted}`);
    }
  }

  return {
    startedAt: data.startedAt,
    counts: {
      orders: data.orders.length,
      payments: data.payments.length,
      products: data.books.length,
      reservations: data.reservations.length,
    },
    orders: statusCounts,
    settling: data.orders.length - settled.size,
    money: books,
    discrepancies: out,
  };
}

function msOf(t: { seconds: bigint; nanos: number } | undefined): number {
  return t === undefined ? 0 : Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
}

function sameItems(o: Order, r: Reservation): boolean {
  const count = (items: ReadonlyArray<{ productId: string; quantity: number }>) => {
    const m = new Map<string, number>();
    for (const i of items) m.set(i.productId, (m.get(i.productId) ?? 0) + i.quantity);
    return m;
  };
  const a = count(o.items);
  const b = count(r.items);
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

function money(cents: number, currency: string): string {
  return `${(cents / 100).toFixed(2)} ${currency}`;
}

function describePayments(list: readonly Payment[]): string {
  return list.length === 0 ? "none" : list.map((p) => `${p.id} ${PaymentStatus[p.status]} ${money(p.amountCents, p.currency)}`).join("; ");
}

/** The report as text: counts, then one line per discrepancy, then the verdict. */
export function formatReport(r: ReconcileReport): string {
  const lines = [
    `reconciliation at ${r.startedAt.toISOString()}`,
    `  orders ${r.counts.orders} (${
      Object.entries(r.orders)
        .map(([k, v]) => `${k.toLowerCase()} ${v}`)
        .join(", ") || "none"
    }; ${r.settling} changed too recently to check across services)`,
    `  payments ${r.counts.payments}, products ${r.counts.products}, reservations ${r.counts.reservations}`,
    ...Object.entries(r.money).map(
      ([c, m]) =>
        `  ${c}: charged ${money(m.charged, c)}, refunded ${money(m.refunded, c)}; orders paid ${money(m.paid, c)}, refunded ${money(m.refundedByOrders, c)}`,
    ),
  ];
  for (const d of r.discrepancies) lines.push(`  DISCREPANCY ${d.kind}: ${d.subject}: ${d.detail}`);
  lines.push(r.discrepancies.length === 0 ? "books balanced" : `${r.discrepancies.length} discrepancies`);
  return `${lines.join("\n")}\n`;
}
