import { Code, type ConnectError, notFound } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { StockFeed, type StockSource } from "../app/stock-feed.js";
import type { StockLevel } from "../domain/product.js";
import { MAX_WATCHED_PRODUCTS } from "../domain/validation.js";
import { StockWatch } from "./stock-watch.js";

const at = new Date("2025-01-01T00:00:00Z");
const level = (productId: string, available: number, version: number): StockLevel => ({ productId, available, version, updatedAt: at });

/** A source whose current levels are a map. */
function fakeSource() {
  const feed = new StockFeed();
  const current = new Map<string, StockLevel>([
    ["a", level("a", 5, 1)],
    ["b", level("b", 7, 1)],
  ]);
  const source: StockSource = {
    feed,
    async stockLevels(ids) {
      const missing = ids.find((id) => !current.has(id));
      if (missing) throw notFound(`product ${missing}`);
      return ids.map((id) => current.get(id)!);
    },
  };
  return { source, feed };
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

  it("coalesces levels for a slow reader to the newest per product", async () => {
    const { source, feed } = fakeSource();
    const watch = new StockWatch(source, new AbortController().signal);
    await watch.add(["a", "b"]);
    for (let v = 2; v < 50; v++) feed.publish([level("a", 100 - v, v)]);
    const it = watch[Symbol.asyncIterator]();
    expect(await take(it, 2)).toEqual([level("a", 51, 49), level("b", 7, 1)]);
    watch.close();
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
