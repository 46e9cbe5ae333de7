import { describe, expect, it } from "vitest";
import { StockFeed } from "./stock-feed.js";
import type { StockLevel, VersionedProduct } from "../domain/product.js";
import { ProductCache } from "./product-cache.js";

const listedAt = new Date("2025-01-01T00:00:00Z");
const later = (s: number) => new Date(listedAt.getTime() + s * 1000);
const level = (productId: string, available: number, version: number): StockLevel => ({
  productId,
  available,
  version,
  updatedAt: later(version),
});

/**
 * A cache over a fake table of products whose stock is (available, version); `hold` makes the
 * next load read the table at once but answer only when released, as a slow query would.
 */
function setup(maxEntries = 100) {
  const feed = new StockFeed();
  const table = new Map<string, { available: number; version: number }>();
  const loads: string[][] = [];
  let gate: Promise<void> | undefined;
  const row = (id: string): VersionedProduct | undefined => {
    const stock = table.get(id);
    if (!stock) return undefined;
    const product = {
      id,
      name: `Product ${id}`,
      description: "",
      priceCents: 100,
      currency: "EUR",
      imageUrl: "",
      imageUrls: [],
      categories: ["misc"],
      available: stock.available,
      updatedAt: later(stock.version),
      version: 1,
      archived: false,
    };
    return { product, stockVersion: stock.version, fieldsUpdatedAt: listedAt };
  };
  const cache = new ProductCache({
    maxEntries,
    feed,
    async load(ids) {
      loads.push([...ids]);
      const rows = ids.flatMap((id) => row(id) ?? []);
      const held = gate;
      gate = undefined;
      await held;
      return rows;
    },
  });
  /** Commits a stock change: the table first, then the feed (as the catalog service does). */
  const change = (id: string, available: number) => {
    const version = (table.get(id)?.version ?? 0) + 1;
    table.set(id, { available, version });
    feed.publish([level(id, available, version)]);
  };
  const hold = () => {
    let open!: () => void;
    gate = new Promise((r) => {
      open = r;
    });
    return open;
  };
  return { cache, feed, table, loads, change, hold };
}

/** Lets pending promise callbacks run (the fake load has read the table once this resolves). */
const tick = () => new Promise((r) => setImmediate(r));

describe("ProductCache", () => {
  it("reads a product once, then serves it from memory with every stock change applied", async () => {
    const { cache, table, loads, change } = setup();
    table.set("a", { available: 5, version: 1 });
    expect((await cache.get("a"))?.available).toBe(5);
    change("a", 3);
    const got = await cache.get("a");
    expect(got).toMatchObject({ available: 3, updatedAt: later(2) });
    expect(loads).toEqual([["a"]]);
  });

  it("keeps a newer level when an older one is published late", async () => {
    const { cache, feed, table } = setup();
    table.set("a", { available: 5, version: 4 });
    await cache.get("a");
    feed.publish([level("a", 9, 3), level("a", 8, 4)]);
    expect((await cache.get("a"))?.available).toBe(5);
  });

  it("keeps a level published while the product was being read over the older level read", async () => {
    const { cache, change, table, hold } = setup();
    table.set("a", { available: 5, version: 1 });
    const release = hold();
    const reading = cache.get("a");
    await tick(); // the load has read version 1
    change("a", 2); // version 2 commits and is published before the load answers
    release();
    expect((await reading)?.available).toBe(2);
    expect((await cache.get("a"))?.available).toBe(2);
  });

  it("never replaces a cached level with an older one that a slow read brings", async () => {
    const { cache, table, hold, loads } = setup();
    table.set("a", { available: 5, version: 1 });
    const release = hold();
    const slow = cache.get("a");
    await tick(); // the slow read has version 1
    // Version 2 lands without the feed telling (as a lagging shared feed could); a second read stores it.
    table.set("a", { available: 4, version: 2 });
    expect((await cache.get("a"))?.available).toBe(4);
    release();
    expect((await slow)?.available).toBe(4);
    expect((await cache.get("a"))?.available).toBe(4);
    expect(loads).toHaveLength(2);
  });

  it("does not remember unknown ids", async () => {
    const { cache, table, loads } = setup();
    expect(await cache.get("a")).toBeUndefined();
    table.set("a", { available: 1, version: 1 });
    expect((await cache.get("a"))?.available).toBe(1);
    expect(loads).toEqual([["a"], ["a"]]);
  });

  it("drops what a read under way got when the product's fields change meanwhile", async () => {
    const { cache, table, hold, loads } = setup();
    table.set("a", { available: 1, version: 1 });
    const release = hold();
    const reading = cache.get("a");
    await tick();
    cache.invalidate(["a"]);
    release();
    await reading;
    expect(cache.size).toBe(0);
    await cache.get("a");
    expect(loads).toHaveLength(2);
    expect(cache.size).toBe(1);
  });

  it("forgets everything on clear, including what reads under way got", async () => {
    const { cache, table, hold } = setup();
    for (const id of ["a", "b"]) table.set(id, { available: 1, version: 1 });
    await cache.get("a");
    const release = hold();
    const reading = cache.get("b");
    await tick();
    cache.clear();
    release();
    await reading;
    expect(cache.size).toBe(0);
  });

  it("batch reads load only the ids not in memory", async () => {
    const { cache, table, loads } = setup();
    for (const id of ["a", "b", "c"]) table.set(id, { available: 1, version: 1 });
    await cache.get("a");
    const found = await cache.getMany(["a", "b", "x", "c"]);
    expect([...found.keys()].sort()).toEqual(["a", "b", "c"]);
    expect(loads).toEqual([["a"], ["b", "x", "c"]]);
  });

  it("evicts the least recently read product beyond its size", async () => {
    const { cache, table, loads } = setup(2);
    for (const id of ["a", "b", "c"]) table.set(id, { available: 1, version: 1 });
    await cache.get("a");
    await cache.get("b");
    await cache.get("a");
    await cache.get("c"); // evicts b
    expect(cache.size).toBe(2);
    await cache.get("a");
    await cache.get("b");
    expect(loads).toEqual([["a"], ["b"], ["c"], ["b"]]);
  });

  it("with size 0 reads every time and listens to no feed", async () => {
    const { cache, table, loads, change } = setup(0);
    table.set("a", { available: 5, version: 1 });
    expect((await cache.get("a"))?.available).toBe(5);
    change("a", 2);
    expect((await cache.get("a"))?.available).toBe(2);
    expect(cache.size).toBe(0);
    expect(loads).toHaveLength(2);
  });
});
