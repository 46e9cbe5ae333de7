/**
 * What the crash tests share: a checkout load that goes on while services die, and the check
 * that follows it — every order final, none charged twice, the books balanced.
 */
import { demoCatalog } from "@shopmesh/catalog";
import { closeClient } from "@shopmesh/platform";
import { type Order, OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { type Payment, PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { allPages, type ReconcileTargets, reconcile } from "../../tools/reconcile.js";
import { RestError, type Shopper } from "../../shopper.js";
import { createTestClient, testMeshTls } from "@shopmesh/platform/testing/mesh-tls";
import { pollUntil } from "@shopmesh/platform/testing/poll";

export const DECLINED_CARD = "4000 0000 0000 0002";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LoadResult {
  /** Order ids of the checkouts answered 201. */
  readonly placed: string[];
  /** Refused requests (add to cart or checkout) by HTTP status, or by the network error's code. */
  readonly refused: Record<string, number>;
}

export interface CheckoutLoadOptions {
  /** Each shopper stops after this many checkouts even if not stopped; default 300. */
  readonly maxPerShopper?: number;
  /** Pause between one shopper's checkouts; default 50 ms. */
  readonly thinkMs?: number;
  /** Pause after a refused request; default 150 ms. */
  readonly refusedPauseMs?: number;
}

/**
 * Every shopper checks out in a loop (one unit of a product in turn; every fifth with a declined
 * card) until stopped. A refused or failed request (a service down) is counted and the loop goes on.
 */
export function checkoutLoad(
  shoppers: readonly Shopper[],
  { maxPerShopper = 300, thinkMs = 50, refusedPauseMs = 150 }: CheckoutLoadOptions = {},
): { stop(): Promise<LoadResult> } {
  let stopped = false;
  const placed: string[] = [];
  const refused: Record<string, number> = {};
  const loops = shoppers.map(async (shopper, s) => {
    for (let i = 0; i < maxPerShopper && !stopped; i++) {
      const product = demoCatalog[(s * 3 + i) % demoCatalog.length];
      if (!product) throw new Error("the demo catalog is empty");
      try {
        await shopper.addItem(product.id, 1);
        const { order_id } = await shopper.checkout(i % 5 === 4 ? { cardNumber: DECLINED_CARD } : {});
        placed.push(order_id);
        await sleep(thinkMs);
      } catch (err) {
        // A service is down: the edge answers 503 or 504 (and a checkout may still have been placed).
        const cause = (err as { cause?: { code?: string } }).cause;
        const why = err instanceof RestError ? String(err.reply.status) : (cause?.code ?? "network");
        refused[why] = (refused[why] ?? 0) + 1;
        await sleep(refusedPauseMs);
      }
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return { placed, refused };
    },
  };
}

const isFinal = (o: Order) => o.status === OrderStatus.PAID || o.status === OrderStatus.CANCELLED;

/** What the books say after a crash test's load. */
export interface SettledBooks {
  readonly orders: readonly Order[];
  readonly payments: readonly Payment[];
  /** Orders not paid or cancelled after the wait, as "id STATUS". */
  readonly open: readonly string[];
  /** Checkouts answered 201 whose order is not among the orders. */
  readonly missing: readonly string[];
  /** Orders with more than one payment. */
  readonly chargedTwice: readonly string[];
  /** Paid orders without one successful payment of their total, cancelled ones with one. */
  readonly wronglyCharged: readonly string[];
  /** reconcile's discrepancies, as "kind: subject: detail". */
  readonly discrepancies: readonly string[];
  /** The outcome, a line each, for the test's output. */
  readonly summary: readonly string[];
}

/**
 * What {@link SettledBooks} hold after a crash test that passes: every order final, every checkout
 * answered 201 among them, none charged twice or wrongly, the books balanced
 * (`expect(books).toMatchObject(balancedBooks)`).
 */
export const balancedBooks = { open: [], missing: [], chargedTwice: [], wronglyCharged: [], discrepancies: [] } as const;

/**
 * Waits (boundedly) for every order of `userIds` to end paid or cancelled, then reads the
 * payments and reconciles the books, allowing a release still on its way to the catalog.
 * Each read makes its clients anew: the services' processes may have come and gone.
 */
export async function settleAndCheck(
  targets: ReconcileTargets,
  userIds: ReadonlySet<string>,
  load: LoadResult,
  { finalWithinMs = 90_000, balancedWithinMs = 30_000 } = {},
): Promise<SettledBooks> {
  const readOrders = async () => {
    const client = createTestClient(OrderService, targets.order, { defaultTimeoutMs: 5_000 });
    try {
      return (await allPages((pageToken) => client.listAllOrders({ pageSize: 500, pageToken }))).filter((o) => userIds.has(o.userId));
    } finally {
      closeClient(client);
    }
  };
  let orders: Order[] = [];
  const open = () => orders.filter((o) => !isFinal(o)).map((o) => `${o.id} ${OrderStatus[o.status]}`);
  await pollUntil(
    async () => {
      orders = await readOrders().catch(() => orders);
      return orders.length > 0 && open().length === 0;
    },
    { timeoutMs: finalWithinMs, intervalMs: 500 },
  );
  const ids = new Set(orders.map((o) => o.id));

  const paymentsClient = createTestClient(PaymentService, targets.payment, { defaultTimeoutMs: 10_000 });
  let payments: Payment[];
  try {
    payments = (await allPages((pageToken) => paymentsClient.listPayments({ pageSize: 500, pageToken }))).filter((p) => ids.has(p.orderId));
  } finally {
    closeClient(paymentsClient);
  }
  const byOrder = new Map<string, Payment[]>();
  for (const p of payments) byOrder.set(p.orderId, [...(byOrder.get(p.orderId) ?? []), p]);
  const chargedTwice = [...byOrder].filter(([, list]) => list.length > 1).map(([id]) => id);
  const wronglyCharged = orders
    .filter((o) => {
      const succeeded = (byOrder.get(o.id) ?? []).filter((p) => p.status === PaymentStatus.SUCCEEDED);
      return o.status === OrderStatus.PAID ? succeeded.length !== 1 || succeeded[0]?.amountCents !== o.totalCents : succeeded.length !== 0;
    })
    .map((o) => `${o.id} ${OrderStatus[o.status]}`);

  let discrepancies: string[] = [];
  await pollUntil(
    async () => {
      const report = await reconcile(targets, { stuckAfterMs: 600_000, settleMs: 0, tls: testMeshTls("reconcile") });
      discrepancies = report.discrepancies.map((d) => `${d.kind}: ${d.subject}: ${d.detail}`);
      return discrepancies.length === 0;
    },
    { timeoutMs: balancedWithinMs, intervalMs: 500 },
  );

  const count = <T>(items: readonly T[], key: (x: T) => string) => {
    const out: Record<string, number> = {};
    for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
    return out;
  };
  const summary = [
    `  checkouts answered 201: ${load.placed.length}; requests refused: ${JSON.stringify(load.refused)}`,
    `  orders: ${orders.length} ${JSON.stringify(count(orders, (o) => (o.cancelReason ? `CANCELLED ${o.cancelReason}` : OrderStatus[o.status])))}; not final: ${open().length}`,
    `  payments: ${payments.length} ${JSON.stringify(count(payments, (p) => PaymentStatus[p.status]))}; orders with more than one payment: ${chargedTwice.length}; paid without one payment of its total or cancelled with a charge: ${wronglyCharged.length}`,
    `  reconcile: ${discrepancies.length === 0 ? "books balanced" : discrepancies.join("; ")}`,
  ];
  return {
    orders,
    payments,
    open: open(),
    missing: load.placed.filter((id) => !ids.has(id)),
    chargedTwice,
    wronglyCharged,
    discrepancies,
    summary,
  };
}
