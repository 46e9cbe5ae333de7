import { Code, ConnectError, notFound } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import type { StockLevel } from "../domain/product.js";
import { StockFeed } from "./stock-feed.js";
import { MAX_WATCHED_PRODUCTS, type StockSource, StockWatch } from "./stock-watch.js";

const at = new Date("2025-01-01T00:00:00Z");
const level = (productId: string, available: number, version: number): StockLevel => ({ productId, available, version, updatedAt: at });

/** A source whose current levels are a mutable map; `gate` can hold reads back. */
function fakeSource() {
  const feed = new StockFeed();
  const current = new Map<string, StockLevel>([
    ["a", level("a", 5, 1)],
    ["b", level("b", 7, 1)],
  ]);
  let gate: Promise<void> | undefined;
  const source: StockSource = {
    feed,
    async stockLevels(ids) {
      const snapshot = ids.map((id) => current.get(id));
      await gate;
      const missing = ids.find((id) => !current.has(id));
      if (missing) throw notFound(`product ${missing}`);
      return snapshot.filter((l): l is StockLevel => l !== undefined);
    },
  };
  return {
    source,
    feed,
    current,
    hold() {
      let open!: () => void;
      gate = new Promise((r) => {
        open = r;
      });
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

async function take(it: AsyncIterator<StockLevel>, n: number): Promise<StockLevel[]> {
  const out: StockLevel[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe("StockWatch", () => {
  it("answers an add with the current level, then sends changes until removed", async () => {
    const { source, feed } = fakeSource();
    const ac = new AbortController();
    const watch = new StockWatch(source, ac.signal);
    const it = watch[Symbol.asyncIterator]();
    await watch.add(["a"]);
    expect(await take(it, 1)).toEqual([level("a", 5, 1)]);
    feed.publish([level("a", 4, 2), level("b", 1, 2)]);
    expect(await take(it, 1)).toEqual([level("a", 4, 2)]);
    watch.remove(["a"]);
    feed.publish([level("a", 3, 3)]);
    expect(feed.subscriptions).toBe(0);
    watch.endRequests();
    expect((await it.next()).done).toBe(true);
  });

  it("drops a current level older than a change that overtook it", async () => {
    const { source, feed, hold } = fakeSource();
    const watch = new StockWatch(source, new AbortController().signal);
    const it = watch[Symbol.asyncIterator]();
    const open = hold();
    const adding = watch.add(["a"]);
    feed.publish([level("a", 2, 2)]);
    open();
    await adding;
    expect(await take(it, 1)).toEqual([level("a", 2, 2)]);
    feed.publish([level("a", 1, 3)]);
    expect(await take(it, 1)).toEqual([level("a", 1, 3)]);
    watch.close();
  });

  it("coalesces levels for a slow reader to the newest per product", async () => {
    const { source, feed } = fakeSource();
    const watch = new StockWatch(source, new AbortController().signal);
    await watch.add(["a", "b"]);
    for (let v = 2; v < 50; v++) feed.publish([level("a", 100 - v, v)]);
    const it = watch[Symbol.asyncIterator]();
    expect(await take(it, 2)).toEqual([level("a", 51, 49), level("b", 7, 1)]);
    watch.close();
  });

  it("ends on abort and fails on an unknown product", async () => {
    const { source, feed } = fakeSource();
    const ac = new AbortController();
    const watch = new StockWatch(source, ac.signal);
    await watch.add(["a"]);
    const it = watch[Symbol.asyncIterator]();
    await take(it, 1);
    const next = it.next();
    ac.abort();
    expect((await next).done).toBe(true);
    expect(feed.subscriptions).toBe(0);

    const other = new StockWatch(source, new AbortController().signal);
    const err = await other.add(["nope"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    other.close();
    expect(feed.subscriptions).toBe(0);
  });

  it("refuses to watch more than its limit with RESOURCE_EXHAUSTED, watching nothing new", async () => {
    const { source, feed } = fakeSource();
    const watch = new StockWatch(source, new AbortController().signal);
    await watch.add(["a"]);
    const many = Array.from({ length: MAX_WATCHED_PRODUCTS }, (_, i) => `p-${i}`);
    const err = await watch.add(many).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect(feed.subscriptions).toBe(1);
    watch.close();
  });
});
