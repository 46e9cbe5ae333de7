import { Code, ConnectError, notFound } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { StatusFeed } from "../app/status-feed.js";
import type { OrderStatus, StatusUpdate } from "../domain/order.js";
import { MAX_WATCHED_ORDERS, OrderWatch, type StatusSource } from "./status-watch.js";

const A = "0190a0b0-0000-7000-8000-00000000000a";
const B = "0190a0b0-0000-7000-8000-00000000000b";
const previous: Record<OrderStatus, OrderStatus | "UNSPECIFIED"> = {
  PENDING: "UNSPECIFIED",
  STOCK_RESERVED: "PENDING",
  PAID: "STOCK_RESERVED",
  CANCELLED: "PENDING",
  ON_HOLD: "STOCK_RESERVED",
  PARTIALLY_REFUNDED: "PAID",
  REFUNDED: "PARTIALLY_REFUNDED",
};

function update(orderId: string, seq: number, status: OrderStatus): StatusUpdate {
  return {
    orderId,
    status,
    transition: { seq, from: previous[status], to: status, at: new Date(1_000 * seq), reason: status.toLowerCase() },
    cancelReason: undefined,
    paymentId: undefined,
  };
}

/** A source whose reads answer from `current`. */
function source(current: Map<string, StatusUpdate>) {
  const feed = new StatusFeed();
  const src: StatusSource = {
    feed,
    async currentStatuses(ids) {
      const snapshot = ids.map((id) => current.get(id));
      if (snapshot.some((u) => u === undefined)) throw notFound("order");
      return snapshot as StatusUpdate[];
    },
  };
  return { src, feed };
}

async function take(it: AsyncIterator<StatusUpdate>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const next = await it.next();
    if (next.done) break;
    out.push(`${next.value.orderId === A ? "A" : "B"}${next.value.transition.seq}:${next.value.status}`);
  }
  return out;
}

describe("order watch", () => {
  it("answers with the current status, then sends every later transition in order", async () => {
    const { src, feed } = source(new Map([[A, update(A, 1, "PENDING")]]));
    const watch = new OrderWatch(src, new AbortController().signal);
    const it = watch[Symbol.asyncIterator]();
    await watch.add([A]);
    feed.publish([update(A, 2, "STOCK_RESERVED"), update(A, 3, "PAID")]);
    expect(await take(it, 3)).toEqual(["A1:PENDING", "A2:STOCK_RESERVED", "A3:PAID"]);
    watch.endRequests();
    expect((await it.next()).done).toBe(true);
    expect(feed.subscriptions).toBe(0);
  });

  it("with followRefunds, a paid order is watched until it is refunded", async () => {
    const { src, feed } = source(new Map([[A, update(A, 3, "PAID")]]));
    const watch = new OrderWatch(src, new AbortController().signal, { followRefunds: true });
    const it = watch[Symbol.asyncIterator]();
    await watch.add([A]);
    watch.endRequests();
    feed.publish([update(A, 4, "PARTIALLY_REFUNDED"), update(A, 5, "REFUNDED")]);
    expect(await take(it, 3)).toEqual(["A3:PAID", "A4:PARTIALLY_REFUNDED", "A5:REFUNDED"]);
    expect((await it.next()).done).toBe(true);
  });

  it("an unknown order fails the add with NOT_FOUND; more than the limit is RESOURCE_EXHAUSTED", async () => {
    const { src } = source(new Map([[A, update(A, 1, "PENDING")]]));
    const watch = new OrderWatch(src, new AbortController().signal);
    await expect(watch.add([A, B])).rejects.toMatchObject({ code: Code.NotFound });
    const many = Array.from({ length: MAX_WATCHED_ORDERS + 1 }, (_, i) => `0190a0b0-0000-7000-8000-${String(i).padStart(12, "0")}`);
    const err = await watch.add(many).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    watch.close();
  });
});
