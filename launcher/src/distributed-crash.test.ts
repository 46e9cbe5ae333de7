import { demoCatalog } from "@shopmesh/catalog";
import { type Client, closeClient, createClient } from "@shopmesh/platform";
import { type Order, OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { type Payment, PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { expect, it } from "vitest";
import { type ReconcileReport, reconcile } from "./reconcile.js";
import { RestError, type Shopper } from "./shopper.js";
import { describeDistributed } from "./testing/distributed-fixture.js";

/**
 * Distributed mode with the saga's services killed (SIGKILL) under a checkout load and started
 * again: every order ends paid or cancelled, none is charged twice, and the books balance.
 */

const DECLINED_CARD = "4000 0000 0000 0002";
const SHOPPERS = 6;
/** Each shopper stops after this many checkouts even if the kills are not done yet. */
const MAX_CHECKOUTS_PER_SHOPPER = 300;
/** Pause between one shopper's checkouts, and after a refused request. */
const THINK_MS = 50;
const REFUSED_PAUSE_MS = 150;

type Victim = "order" | "catalog" | "payment";
/** The saga step each victim works on: it is killed once an order waits at that step. */
const STEP: Readonly<Record<Victim, readonly OrderStatus[]>> = {
  // PlaceOrder, or applying the reservation's and the payment's results.
  order: [OrderStatus.PENDING, OrderStatus.STOCK_RESERVED],
  // Reserving stock for a placed order.
  catalog: [OrderStatus.PENDING],
  // Charging an order whose stock is reserved.
  payment: [OrderStatus.STOCK_RESERVED],
};
/** Two rounds over the three victims at different moments: at once or a little after an order was seen at the step, down briefly or longer. */
const ROUNDS = [
  { delayMs: 0, downMs: 300 },
  { delayMs: 350, downMs: 1_500 },
] as const;
const VICTIMS: readonly Victim[] = ["order", "catalog", "payment"];

interface Kill {
  readonly victim: Victim;
  readonly round: number;
  /** Orders at the victim's step just before the kill (-1: they could not be read). */
  readonly atStep: number;
}

interface LoadResult {
  /** Order ids of the checkouts answered 201. */
  readonly placed: string[];
  /** Refused requests (add to cart or checkout) by HTTP status, or "network". */
  readonly refused: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isFinal = (o: Order) => o.status === OrderStatus.PAID || o.status === OrderStatus.CANCELLED;

async function all<T>(page: (token: string) => Promise<{ items: T[]; nextPageToken: string }>): Promise<T[]> {
  const out: T[] = [];
  let token = "";
  do {
    const res = await page(token);
    out.push(...res.items);
    token = res.nextPageToken;
  } while (token !== "");
  return out;
}

/** Calls `done` every half second until it says yes or `timeoutMs` passed. */
async function pollUntil(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  for (let i = 0, n = Math.ceil(timeoutMs / 500); i < n; i++) {
    if (await done()) return;
    await sleep(500);
  }
}

/** Every shopper checks out in a loop (one unit of a product in turn; every fifth with a declined card) until stopped. */
function checkoutLoad(shoppers: readonly Shopper[]): { stop(): Promise<LoadResult> } {
  let stopped = false;
  const placed: string[] = [];
  const refused: Record<string, number> = {};
  const loops = shoppers.map(async (shopper, s) => {
    for (let i = 0; i < MAX_CHECKOUTS_PER_SHOPPER && !stopped; i++) {
      const product = demoCatalog[(s * 3 + i) % demoCatalog.length];
      if (!product) throw new Error("the demo catalog is empty");
      try {
        await shopper.addItem(product.id, 1);
        const { order_id } = await shopper.checkout(i % 5 === 4 ? { cardNumber: DECLINED_CARD } : {});
        placed.push(order_id);
        await sleep(THINK_MS);
      } catch (err) {
        // A service is down: the edge answers 503 or 504 (and a checkout may still have been placed).
        const why = err instanceof RestError ? String(err.reply.status) : "network";
        refused[why] = (refused[why] ?? 0) + 1;
        await sleep(REFUSED_PAUSE_MS);
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

describeDistributed("distributed mode with services killed under load", (t) => {
  /** A client of the order service, made anew for each use: its process comes and goes. */
  async function withOrders<T>(fn: (orders: Client<typeof OrderService>) => Promise<T>): Promise<T> {
    const orders = createClient(OrderService, t.mesh.services.order, { defaultTimeoutMs: 5_000 });
    try {
      return await fn(orders);
    } finally {
      closeClient(orders);
    }
  }

  const ordersOf = (userIds: ReadonlySet<string>) =>
    withOrders(async (orders) =>
      (await all((pageToken) => orders.listAllOrders({ pageSize: 500, pageToken }))).filter((o) => userIds.has(o.userId)),
    );

  /** How many orders wait at one of `statuses` now; -1 when the order service does not answer. */
  const countAt = (statuses: readonly OrderStatus[]) =>
    withOrders(async (orders) => (await orders.listAllOrders({ pageSize: 500, statuses: [...statuses] })).items.length).catch(() => -1);

  /** Waits (boundedly) for an order at the victim's step, kills the victim with SIGKILL, and starts it again. */
  async function killAtStep(victim: Victim, round: number): Promise<Kill> {
    const { delayMs, downMs } = ROUNDS[round] ?? ROUNDS[0];
    for (let i = 0; i < 300 && (await countAt(STEP[victim])) <= 0; i++) await sleep(50);
    await sleep(delayMs);
    const atStep = await countAt(STEP[victim]);
    const exit = await t.mesh.kill(victim, "SIGKILL");
    expect(exit, victim).toMatchObject({ signal: "SIGKILL", expected: true });
    await sleep(downMs);
    await t.mesh.start(victim);
    t.notePids();
    return { victim, round, atStep };
  }

  it("settles every order once (paid or cancelled, never charged twice) and balances the books after order, catalog and payment are each killed twice (kill -9) under a checkout load", {
    timeout: 240_000,
  }, async () => {
    const shoppers = await Promise.all(Array.from({ length: SHOPPERS }, (_, i) => t.signup(`crash-load${i}`)));
    const userIds = new Set(shoppers.map((s) => s.userId));
    const load = checkoutLoad(shoppers);
    const kills: Kill[] = [];
    let result: LoadResult;
    try {
      for (let round = 0; round < ROUNDS.length; round++) {
        for (const victim of VICTIMS) kills.push(await killAtStep(victim, round));
      }
    } finally {
      result = await load.stop();
    }

    // Every order placed ends final; waiting through the consumer groups' rebalances after the kills.
    let orders: Order[] = [];
    const open = () => orders.filter((o) => !isFinal(o)).map((o) => `${o.id} ${OrderStatus[o.status]}`);
    await pollUntil(async () => {
      orders = await ordersOf(userIds).catch(() => orders);
      return open().length === 0;
    }, 90_000);
    const ids = new Set(orders.map((o) => o.id));

    // No order charged twice: one payment per order at most, paid orders with one successful
    // payment of their total, cancelled ones with none.
    const paymentsClient = createClient(PaymentService, t.mesh.services.payment, { defaultTimeoutMs: 10_000 });
    let payments: Payment[];
    try {
      payments = (await all((pageToken) => paymentsClient.listPayments({ pageSize: 500, pageToken }))).filter((p) => ids.has(p.orderId));
    } finally {
      closeClient(paymentsClient);
    }
    const byOrder = new Map<string, Payment[]>();
    for (const p of payments) byOrder.set(p.orderId, [...(byOrder.get(p.orderId) ?? []), p]);
    const chargedTwice = [...byOrder].filter(([, list]) => list.length > 1).map(([id]) => id);
    const wronglyCharged = orders
      .filter((o) => {
        const succeeded = (byOrder.get(o.id) ?? []).filter((p) => p.status === PaymentStatus.SUCCEEDED);
        return o.status === OrderStatus.PAID
          ? succeeded.length !== 1 || succeeded[0]?.amountCents !== o.totalCents
          : succeeded.length !== 0;
      })
      .map((o) => `${o.id} ${OrderStatus[o.status]}`);

    // The books across order, payment and catalog; a release may still be on its way to the catalog.
    const targets = { order: t.mesh.services.order, payment: t.mesh.services.payment, catalog: t.mesh.services.catalog };
    let report: ReconcileReport | undefined;
    await pollUntil(async () => {
      report = await reconcile(targets, { stuckAfterMs: 600_000, settleMs: 0 });
      return report.discrepancies.length === 0;
    }, 30_000);
    const discrepancies = report?.discrepancies.map((d) => `${d.kind}: ${d.subject}: ${d.detail}`);

    const count = <T>(items: readonly T[], key: (x: T) => string) => {
      const out: Record<string, number> = {};
      for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
      return out;
    };
    console.log(
      [
        `crash test: ${kills.length} kills (SIGKILL) under ${SHOPPERS} shoppers' checkout load`,
        ...kills.map(
          (k) =>
            `  round ${k.round + 1}: ${k.victim} killed with ${k.atStep < 0 ? "?" : k.atStep} orders at ${STEP[k.victim].map((s) => OrderStatus[s]).join(" or ")}, down ${ROUNDS[k.round]?.downMs} ms`,
        ),
        `  checkouts answered 201: ${result.placed.length}; requests refused: ${JSON.stringify(result.refused)}`,
        `  orders: ${orders.length} ${JSON.stringify(count(orders, (o) => (o.cancelReason ? `CANCELLED ${o.cancelReason}` : OrderStatus[o.status])))}; not final: ${open().length}`,
        `  payments: ${payments.length} ${JSON.stringify(count(payments, (p) => PaymentStatus[p.status]))}; orders with more than one payment: ${chargedTwice.length}; paid without one payment of its total or cancelled with a charge: ${wronglyCharged.length}`,
        `  reconcile: ${discrepancies?.length === 0 ? "books balanced" : discrepancies?.join("; ")}`,
      ].join("\n"),
    );
    expect(open()).toEqual([]);
    expect(result.placed.filter((id) => !ids.has(id))).toEqual([]);
    expect(chargedTwice).toEqual([]);
    expect(wronglyCharged).toEqual([]);
    expect(discrepancies).toEqual([]);
    expect(kills.map((k) => k.victim).sort()).toEqual(["catalog", "catalog", "order", "order", "payment", "payment"]);
    // Each service was killed at least once with an order at its step: in the middle of the saga.
    expect(VICTIMS.filter((v) => !kills.some((k) => k.victim === v && k.atStep > 0))).toEqual([]);
    expect(t.unexpectedExits).toEqual([]);
  });
});
