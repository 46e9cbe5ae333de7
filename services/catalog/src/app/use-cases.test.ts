import { Code, ConnectError, createLogger, migrateToLatest } from "@shopmesh/platform";
import { forEachBackend, useTestDatabase } from "@shopmesh/platform/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { StockFeed } from "./stock-feed.js";
import * as repo from "../db/catalog.repository.js";
import { demoCatalog, DEMO_CATALOG_SEED } from "../db/demo-catalog.js";
import { catalogMigrations } from "../db/migrations/index.js";
import type { CatalogDb } from "../db/tables.js";
import type { NewProduct, Product, ProductQuery, StockLevel } from "../domain/product.js";
import { ProductCache } from "./product-cache.js";
import { type Catalog, createCatalog } from "./use-cases.js";

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

/** A listing of every product by name, from the start. */
const everything: ProductQuery = {
  pageSize: 20,
  category: undefined,
  search: undefined,
  minPriceCents: undefined,
  maxPriceCents: undefined,
  sort: "name",
  after: undefined,
};

let seq = 0;
/** A product with a unique id, so tests do not see each other's stock. */
function product(overrides: Partial<NewProduct> = {}): NewProduct {
  seq++;
  return {
    id: `p-${seq}-${Math.random().toString(36).slice(2, 8)}`,
    name: `Product ${seq}`,
    description: "A thing",
    priceCents: 1000 + seq,
    currency: "EUR",
    imageUrl: `/images/p-${seq}.svg`,
    categories: ["misc"],
    onHand: 10,
    ...overrides,
  };
}

async function codeOf(p: Promise<unknown>): Promise<Code | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof ConnectError ? err.code : Code.Unknown;
  }
  return undefined;
}

const cacheVariants = [
  { cache: "on", cacheSize: 10_000 },
  { cache: "off", cacheSize: 0 },
];

forEachBackend((backend) => {
  describe.each(cacheVariants)("cache $cache", ({ cacheSize }) => {
    const t = useTestDatabase(backend);
    let catalog: Catalog;
    let feed: StockFeed;
    const available = async (id: string) => (await catalog.getProduct(id)).available;

    beforeAll(async () => {
      await migrateToLatest(t.kysely(), t.schema, { ...catalogMigrations }, logger);
      feed = new StockFeed(logger);
      catalog = createCatalog({ db: t.kysely<CatalogDb>(), logger, feed, cacheSize });
    });

    it("migrates idempotently", async () => {
      await migrateToLatest(t.kysely(), t.schema, { ...catalogMigrations }, logger);
    });

    describe("products", () => {
      const category = `cat-${backend.name}`;
      const names = ["Delta", "alpha", "Charlie", "Bravo", "Bravo", "Echo", "Alpha"];
      const listed: NewProduct[] = names.map((name) => product({ name, categories: [category, name.length % 2 ? "odd" : "even"] }));

      beforeAll(async () => {
        await catalog.addProducts(listed);
      });

      it("pages through a category in a stable (name, id) order", async () => {
        const seen: Product[] = [];
        let after: { key: string; id: string } | undefined;
        let pages = 0;
        do {
          const page = await catalog.listProducts({ ...everything, pageSize: 3, after, category });
          expect(page.items.length).toBeLessThanOrEqual(3);
          seen.push(...page.items);
          after = page.next;
          pages++;
        } while (after);
        expect(pages).toBe(3);
        expect(seen.map((p) => p.id).sort()).toEqual(listed.map((p) => p.id).sort());
        // Sorted by name, then id, in the database's order; the walk is consistent with it.
        const again = await catalog.listProducts({ ...everything, pageSize: 100, category });
        expect(again.items.map((p) => p.id)).toEqual(seen.map((p) => p.id));
        expect(again.next).toBeUndefined();
        const bravos = seen.filter((p) => p.name === "Bravo").map((p) => p.id);
        expect(bravos).toEqual([...bravos].sort());
      });

      it("returns one product with categories in order, stock and a timestamp", async () => {
        const p = listed[0]!;
        const got = await catalog.getProduct(p.id);
        expect(got).toMatchObject({
          id: p.id,
          name: p.name,
          priceCents: p.priceCents,
          currency: "EUR",
          imageUrl: p.imageUrl,
          categories: [...p.categories],
          available: 10,
        });
        expect(got.updatedAt).toBeInstanceOf(Date);
        expect(await codeOf(catalog.getProduct("p-does-not-exist"))).toBe(Code.NotFound);
      });

      it("batch-gets in request order, duplicates once, unknown ids listed", async () => {
        const [a, b] = listed;
        const res = await catalog.batchGetProducts([b!.id, "nope", a!.id, b!.id, "nope"]);
        expect(res.products.map((p) => p.id)).toEqual([b!.id, a!.id]);
        expect(res.missingIds).toEqual(["nope"]);
      });
    });

    describe("reservations", () => {
      it("reserves all items or none", async () => {
        const [a, b] = [product({ onHand: 5 }), product({ onHand: 1 })];
        await catalog.addProducts([a, b]);
        const rejected = await catalog.reserveStock("o-short", [
          { productId: a.id, quantity: 2 },
          { productId: b.id, quantity: 2 },
        ]);
        expect(rejected).toEqual({ status: "rejected", shortages: [{ productId: b.id, requested: 2, available: 1 }], replayed: false });
        expect([await available(a.id), await available(b.id)]).toEqual([5, 1]);

        const reserved = await catalog.reserveStock(`o-ok-${backend.name}`, [
          { productId: b.id, quantity: 1 },
          { productId: a.id, quantity: 2 },
        ]);
        expect(reserved).toEqual({ status: "reserved", shortages: [], replayed: false });
        expect([await available(a.id), await available(b.id)]).toEqual([3, 0]);
      });

      it("rejects unknown products with 0 available", async () => {
        const a = product();
        await catalog.addProducts([a]);
        const res = await catalog.reserveStock(`o-unknown-${backend.name}`, [
          { productId: a.id, quantity: 1 },
          { productId: "p-ghost", quantity: 1 },
        ]);
        expect(res.status).toBe("rejected");
        expect(res.shortages).toEqual([{ productId: "p-ghost", requested: 1, available: 0 }]);
        expect(await available(a.id)).toBe(10);
      });

      it("is idempotent per order id: the first outcome is returned whatever the stock is now", async () => {
        const a = product({ onHand: 1 });
        await catalog.addProducts([a]);
        const order = `o-idem-${backend.name}`;
        const first = await catalog.reserveStock(order, [{ productId: a.id, quantity: 2 }]);
        expect(first.status).toBe("rejected");
        await catalog.adjustStock(a.id, 10, "received");
        const again = await catalog.reserveStock(order, [{ productId: a.id, quantity: 2 }]);
        expect(again).toEqual({ ...first, replayed: true });
        expect(await available(a.id)).toBe(11);

        const held = `o-held-${backend.name}`;
        expect((await catalog.reserveStock(held, [{ productId: a.id, quantity: 3 }])).status).toBe("reserved");
        expect((await catalog.reserveStock(held, [{ productId: a.id, quantity: 3 }])).status).toBe("reserved");
        expect(await available(a.id)).toBe(8);
        // The same order id for other items is a caller bug.
        expect(await codeOf(catalog.reserveStock(held, [{ productId: a.id, quantity: 4 }]))).toBe(Code.AlreadyExists);
      });

      it("holds stock once when the same order is reserved concurrently", async () => {
        const a = product({ onHand: 10 });
        await catalog.addProducts([a]);
        const order = `o-race-${backend.name}`;
        const results = await Promise.all(
          Array.from({ length: 10 }, () => catalog.reserveStock(order, [{ productId: a.id, quantity: 3 }])),
        );
        expect(results.every((r) => r.status === "reserved")).toBe(true);
        expect(results.filter((r) => !r.replayed)).toHaveLength(1);
        expect(await available(a.id)).toBe(7);
      });

      it("never oversells: 50 concurrent reservations of 1 unit for 10 units reserve exactly 10", async () => {
        const a = product({ onHand: 10 });
        await catalog.addProducts([a]);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => catalog.reserveStock(`o-rush-${backend.name}-${i}`, [{ productId: a.id, quantity: 1 }])),
        );
        expect(results.filter((r) => r.status === "reserved")).toHaveLength(10);
        expect(results.filter((r) => r.status === "rejected")).toHaveLength(40);
        for (const r of results.filter((r) => r.status === "rejected")) {
          expect(r.shortages).toEqual([{ productId: a.id, requested: 1, available: 0 }]);
        }
        const row = await t.kysely<CatalogDb>().selectFrom("stock").selectAll().where("product_id", "=", a.id).executeTakeFirstOrThrow();
        expect({ onHand: row.on_hand, reserved: row.reserved }).toEqual({ onHand: 10, reserved: 10 });
      });

      it("does not deadlock when concurrent orders list the same products in opposite orders", async () => {
        const [a, b, c] = [product({ onHand: 100 }), product({ onHand: 100 }), product({ onHand: 100 })];
        await catalog.addProducts([a, b, c]);
        const orders = Array.from({ length: 30 }, (_, i) => {
          const items = [
            { productId: a.id, quantity: 1 },
            { productId: b.id, quantity: 2 },
            { productId: c.id, quantity: 3 },
          ];
          return catalog.reserveStock(`o-cross-${backend.name}-${i}`, i % 2 ? items : items.reverse());
        });
        const results = await Promise.all(orders);
        expect(results.every((r) => r.status === "reserved")).toBe(true);
        expect([await available(a.id), await available(b.id), await available(c.id)]).toEqual([70, 40, 10]);
      });

      it("releases held stock once; rejected and unknown reservations change nothing", async () => {
        const a = product({ onHand: 4 });
        await catalog.addProducts([a]);
        const order = `o-release-${backend.name}`;
        await catalog.reserveStock(order, [{ productId: a.id, quantity: 3 }]);
        expect(await available(a.id)).toBe(1);
        expect(await catalog.releaseStock(order, "payment_declined")).toBe("released");
        expect(await available(a.id)).toBe(4);
        expect(await catalog.releaseStock(order, "payment_declined")).toBe("released");
        expect(await available(a.id)).toBe(4);
        // Asking to reserve again after the release replays the recorded outcome.
        expect((await catalog.reserveStock(order, [{ productId: a.id, quantity: 3 }])).status).toBe("released");
        expect(await available(a.id)).toBe(4);

        const rejected = `o-release-rejected-${backend.name}`;
        await catalog.reserveStock(rejected, [{ productId: a.id, quantity: 5 }]);
        expect(await catalog.releaseStock(rejected, "order_cancelled")).toBe("rejected");
        expect(await catalog.releaseStock(`o-never-${backend.name}`, "order_cancelled")).toBeUndefined();
        expect(await available(a.id)).toBe(4);
      });
    });

    describe("in the caller's transaction", () => {
      const outboxTypes = async (key: string) => {
        const rows = await t.kysely<CatalogDb>().selectFrom("outbox").select("type").where("key", "=", key).orderBy("seq").execute();
        return rows.map((r) => r.type);
      };

      it("reserves and releases with the caller's commit; levels are published on afterCommit only", async () => {
        const a = product({ onHand: 4 });
        await catalog.addProducts([a]);
        const db = t.kysely<CatalogDb>();
        const order = `o-in-trx-${backend.name}-${cacheSize}`;
        const seen: number[] = [];
        const unsubscribe = feed.subscribe(a.id, (l) => seen.push(l.available));

        const reserved = await db.transaction().execute((trx) => catalog.reserveStockIn(trx, order, [{ productId: a.id, quantity: 3 }]));
        expect(reserved.result).toEqual({ status: "reserved", shortages: [], replayed: false });
        expect(seen).toEqual([]);
        reserved.afterCommit();
        expect(seen).toEqual([1]);
        expect(await available(a.id)).toBe(1);

        // Rolled back with the caller's transaction: nothing released, nothing written.
        await expect(
          db.transaction().execute(async (trx) => {
            await catalog.releaseStockIn(trx, order, "order_cancelled");
            throw new Error("caller failed");
          }),
        ).rejects.toThrow("caller failed");
        expect(await available(a.id)).toBe(1);
        expect(await outboxTypes(order)).toEqual(["shop.catalog.v1.StockReserved"]);

        const released = await db.transaction().execute((trx) => catalog.releaseStockIn(trx, order, "order_cancelled"));
        expect(released.result).toBe("released");
        released.afterCommit();
        expect(seen).toEqual([1, 4]);
        expect(await outboxTypes(order)).toEqual(["shop.catalog.v1.StockReserved", "shop.catalog.v1.StockReleased"]);
        unsubscribe();
      });

      it("after an uncertain commit, reads show the stock as committed", async () => {
        const a = product({ onHand: 4 });
        await catalog.addProducts([a]);
        expect(await available(a.id)).toBe(4);
        const change = await t
          .kysely<CatalogDb>()
          .transaction()
          .execute((trx) => catalog.reserveStockIn(trx, `o-uncertain-${backend.name}-${cacheSize}`, [{ productId: a.id, quantity: 3 }]));
        change.afterUncertainCommit();
        expect(await available(a.id)).toBe(1);
      });

      it("a release with a tombstone before any reservation keeps the order from holding stock later", async () => {
        const a = product({ onHand: 4 });
        await catalog.addProducts([a]);
        const db = t.kysely<CatalogDb>();
        const order = `o-tombstone-${backend.name}-${cacheSize}`;
        const release = (tombstone: boolean) =>
          db.transaction().execute((trx) => catalog.releaseStockIn(trx, order, "payment_failed", { tombstone }));

        expect((await release(true)).result).toBe("released");
        expect((await release(true)).result).toBe("released");
        const items = [{ productId: a.id, quantity: 1 }];
        const late = await db.transaction().execute((trx) => catalog.reserveStockIn(trx, order, items));
        expect(late.result).toEqual({ status: "released", shortages: [], replayed: true });
        // ReserveStock replays it too, whatever items it is asked for.
        expect(await catalog.reserveStock(order, [{ productId: a.id, quantity: 2 }])).toEqual(late.result);
        expect(await available(a.id)).toBe(4);
        expect(await outboxTypes(order)).toEqual([]);

        // Without a tombstone an unknown order stays unknown, as with ReleaseStock.
        const other = `o-no-tombstone-${backend.name}-${cacheSize}`;
        const plain = await db.transaction().execute((trx) => catalog.releaseStockIn(trx, other, "order_cancelled"));
        expect(plain.result).toBeUndefined();
        expect((await catalog.reserveStock(other, items)).status).toBe("reserved");
      });
    });

    describe("adjustments", () => {
      it("changes stock on hand, logs each change, refuses going below zero available", async () => {
        const a = product({ onHand: 2 });
        await catalog.addProducts([a]);
        await catalog.reserveStock(`o-adj-${backend.name}`, [{ productId: a.id, quantity: 2 }]);
        expect((await catalog.adjustStock(a.id, 5, "received")).available).toBe(5);
        expect((await catalog.adjustStock(a.id, -4, "damaged")).available).toBe(1);
        expect(await codeOf(catalog.adjustStock(a.id, -2, "recount"))).toBe(Code.FailedPrecondition);
        expect(await codeOf(catalog.adjustStock("p-ghost", 1, "received"))).toBe(Code.NotFound);
        expect(await repo.listAdjustments(t.kysely<CatalogDb>(), a.id)).toEqual([
          { delta: 2, reason: "initial", onHandAfter: 2 },
          { delta: 5, reason: "received", onHandAfter: 7 },
          { delta: -4, reason: "damaged", onHandAfter: 3 },
        ]);
      });
    });

    describe("stock feed", () => {
      it("publishes each committed change with a growing version, nothing for a rejection", async () => {
        const a = product({ onHand: 3 });
        await catalog.addProducts([a]);
        const seen: StockLevel[] = [];
        const unsubscribe = feed.subscribe(a.id, (l) => seen.push(l));
        await catalog.reserveStock(`o-feed-1-${backend.name}`, [{ productId: a.id, quantity: 2 }]);
        await catalog.reserveStock(`o-feed-2-${backend.name}`, [{ productId: a.id, quantity: 2 }]);
        await catalog.adjustStock(a.id, 4, "received");
        await catalog.releaseStock(`o-feed-1-${backend.name}`, "order_cancelled");
        await expect(catalog.adjustStock(a.id, -100, "recount")).rejects.toThrow();
        unsubscribe();
        expect(seen.map((l) => l.available)).toEqual([1, 5, 7]);
        const versions = seen.map((l) => l.version);
        expect(versions).toEqual([...versions].sort((x, y) => x - y));
        expect(new Set(versions).size).toBe(3);
        const [current] = await catalog.stockLevels([a.id]);
        expect(current).toEqual(seen.at(-1));
      });
    });

    describe("product reads", () => {
      const read = async (id: string) => {
        const one = await catalog.getProduct(id);
        const { products } = await catalog.batchGetProducts([id]);
        expect(products).toEqual([one]);
        return one;
      };

      it("show the stock after every reservation, adjustment and release", async () => {
        const a = product({ onHand: 5 });
        await catalog.addProducts([a]);
        const before = await read(a.id);
        expect(before.available).toBe(5);
        await catalog.reserveStock(`o-read-${backend.name}-${cacheSize}`, [{ productId: a.id, quantity: 2 }]);
        expect((await read(a.id)).available).toBe(3);
        const adjusted = await catalog.adjustStock(a.id, 4, "received");
        const after = await read(a.id);
        expect(after.available).toBe(7);
        expect(after.updatedAt).toEqual(adjusted.updatedAt);
        await catalog.releaseStock(`o-read-${backend.name}-${cacheSize}`, "order_cancelled");
        expect((await read(a.id)).available).toBe(9);
        // Rejections and failed adjustments change nothing.
        await catalog.reserveStock(`o-read-short-${backend.name}-${cacheSize}`, [{ productId: a.id, quantity: 10 }]);
        await expect(catalog.adjustStock(a.id, -10, "recount")).rejects.toThrow();
        const last = await read(a.id);
        expect(last.available).toBe(9);
        const [level] = await catalog.stockLevels([a.id]);
        expect(last.updatedAt).toEqual(level!.updatedAt);
        expect({ ...last, available: before.available, updatedAt: before.updatedAt }).toEqual(before);
      });

      it("find a product added after a NOT_FOUND", async () => {
        const a = product();
        expect(await codeOf(catalog.getProduct(a.id))).toBe(Code.NotFound);
        expect((await catalog.batchGetProducts([a.id])).missingIds).toEqual([a.id]);
        await catalog.addProducts([a]);
        expect((await catalog.getProduct(a.id)).name).toBe(a.name);
        expect((await catalog.batchGetProducts([a.id])).missingIds).toEqual([]);
      });
    });

    describe("demo catalog seed", () => {
      it("inserts the demo catalog once per schema", async () => {
        const schema = await t.createSchema();
        const db = t.db.kysely<CatalogDb>(schema);
        await migrateToLatest(db, schema, { ...catalogMigrations }, logger);
        const fresh = createCatalog({ db, logger, cacheSize });
        const first = demoCatalog[0]!;
        expect(await codeOf(fresh.getProduct(first.id))).toBe(Code.NotFound);
        expect(await fresh.seedOnce(DEMO_CATALOG_SEED, demoCatalog)).toBe(true);
        expect((await fresh.getProduct(first.id)).name).toBe(first.name);
        expect(await fresh.seedOnce(DEMO_CATALOG_SEED, demoCatalog)).toBe(false);
        const all = await fresh.listProducts({ ...everything, pageSize: 100 });
        expect(all.items).toHaveLength(demoCatalog.length);
        expect(all.items.length).toBeGreaterThanOrEqual(12);
        for (const p of all.items) {
          expect(p.imageUrl).toBe(`/images/${p.id}.svg`);
          expect(p.currency).toBe("EUR");
          expect(p.categories.length).toBeGreaterThan(0);
        }
      });
    });
  });

  describe("product cache over the database", () => {
    const t = useTestDatabase(backend);

    it("keeps a change committed while a read was under way over the older level read", async () => {
      await migrateToLatest(t.kysely(), t.schema, { ...catalogMigrations }, logger);
      const db = t.kysely<CatalogDb>();
      const feed = new StockFeed(logger);
      const catalog = createCatalog({ db, logger, feed, cacheSize: 0 });
      const a = product({ onHand: 5 });
      await catalog.addProducts([a]);

      let haveRead!: () => void;
      const read = new Promise<void>((r) => {
        haveRead = r;
      });
      let answer!: () => void;
      const answered = new Promise<void>((r) => {
        answer = r;
      });
      let slow = true;
      const cache = new ProductCache({
        maxEntries: 10,
        feed,
        async load(ids) {
          const rows = await repo.findProducts(db, ids);
          if (slow) {
            slow = false;
            haveRead();
            await answered;
          }
          return rows;
        },
      });
      const reading = cache.get(a.id);
      await read; // the fill has read 5 units (version 1) from the database
      await catalog.adjustStock(a.id, -2, "damaged"); // version 2 commits and is published
      answer(); // only now does the fill arrive
      expect((await reading)?.available).toBe(3);
      expect((await cache.get(a.id))?.available).toBe(3);
      const [level] = await catalog.stockLevels([a.id]);
      expect((await cache.get(a.id))?.updatedAt).toEqual(level!.updatedAt);
    });
  });
});
