import { type Client, closeClient } from "@shopmesh/platform";
import { OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { expect, it } from "vitest";
import { balancedBooks, checkoutLoad, type LoadResult, settleAndCheck, sleep } from "./crash-check.js";
import { describeDistributed } from "../distributed-fixture.test-support.js";
import { createTestClient, pollUntil } from "@shopmesh/platform/testing";

/**
 * Distributed mode with the saga's services killed (SIGKILL) under a checkout load and started
 * again: every order ends paid or cancelled, none is charged twice, and the books balance.
 */

const SHOPPERS = 6;

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

describeDistributed("distributed mode with services killed under load", (t) => {
  /** A client of the order service, made anew for each use: its process comes and goes. */
  async function withOrders<T>(fn: (orders: Client<typeof OrderService>) => Promise<T>): Promise<T> {
    const orders = createTestClient(OrderService, t.mesh.services.order, { defaultTimeoutMs: 5_000 });
    try {
      return await fn(orders);
    } finally {
      closeClient(orders);
    }
  }

  /** How many orders wait at one of `statuses` now; -1 when the order service does not answer. */
  const countAt = (statuses: readonly OrderStatus[]) =>
    withOrders(async (orders) => (await orders.listAllOrders({ pageSize: 500, statuses: [...statuses] })).items.length).catch(() => -1);

  /** Waits (boundedly) for an order at the victim's step, kills the victim with SIGKILL, and starts it again. */
  async function killAtStep(victim: Victim, round: number): Promise<Kill> {
    const { delayMs, downMs } = ROUNDS[round] ?? ROUNDS[0];
    await pollUntil(async () => (await countAt(STEP[victim])) > 0, { timeoutMs: 15_000, intervalMs: 50 });
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

    const targets = { order: t.mesh.services.order, payment: t.mesh.services.payment, catalog: t.mesh.services.catalog };
    const books = await settleAndCheck(targets, userIds, result);
    console.log(
      [
        `crash test: ${kills.length} kills (SIGKILL) under ${SHOPPERS} shoppers' checkout load`,
        ...kills.map(
          (k) =>
            `  round ${k.round + 1}: ${k.victim} killed with ${k.atStep < 0 ? "?" : k.atStep} orders at ${STEP[k.victim].map((s) => OrderStatus[s]).join(" or ")}, down ${ROUNDS[k.round]?.downMs} ms`,
        ),
        ...books.summary,
      ].join("\n"),
    );
    expect(books).toMatchObject(balancedBooks);
    expect(kills.map((k) => k.victim).sort()).toEqual(["catalog", "catalog", "order", "order", "payment", "payment"]);
    // The kills landed among sagas: some found orders waiting at the victim's step (payment now
    // charges faster than a kill can follow a reservation, so not every victim's kill does).
    expect(kills.some((k) => k.atStep > 0)).toBe(true);
    expect(t.unexpectedExits).toEqual([]);
  });
});
