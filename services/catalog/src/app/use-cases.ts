import {
  callActor,
  type Envelope,
  type Logger,
  failedPrecondition,
  inTransaction,
  notFound,
  type OutboxRow,
  ReadCache,
  writeOutbox,
} from "@shopmesh/platform";
import { recordAudit } from "@shopmesh/platform";
import type { Kysely, Transaction } from "kysely";
import * as repo from "../db/catalog.repository.js";
import * as priceHistory from "../db/price-history.repository.js";
import type { PriceChangeRecord } from "../db/price-history.repository.js";
import * as stockBooks from "../db/stock-books.repository.js";
import type { ReservationRecord, StockAdjustmentRecord, StockBook } from "../db/stock-books.repository.js";
import type { CatalogDb } from "../db/tables.js";
import {
  decideProductChange,
  type NewProduct,
  newProductOf,
  priceChangeOf,
  type Product,
  type ProductFields,
  type ProductPage,
  type ProductQuery,
  type StockLevel,
} from "../domain/product.js";
import {
  type ReservationOutcome,
  type ReservationStatus,
  type StockItem,
  assertSameItems,
  compareIds,
  decideReservation,
  isTombstone,
  releaseReturnsStock,
  shortagesOf,
} from "../domain/reservation.js";
import { MAX_ON_HAND } from "../domain/validation.js";
import { productPriceChanged } from "../events/product-events.js";
import { stockRejected, stockReleased, stockReserved } from "../events/stock-events.js";
import { DEFAULT_CACHE_SIZE, ProductCache } from "./product-cache.js";
import { StockFeed, type StockSource } from "./stock-feed.js";

/** Default size of the listing cache (CATALOG_LISTING_CACHE_SIZE). */
export const DEFAULT_LISTING_CACHE_SIZE = 2_000;
/** Default age after which a cached listing is read again (CATALOG_LISTING_CACHE_MAX_AGE_SECONDS). */
export const DEFAULT_LISTING_MAX_AGE_SECONDS = 10;

export interface CatalogDeps {
  /** Kysely bound to the catalog's schema. */
  readonly db: Kysely<CatalogDb>;
  readonly logger: Logger;
  /** Where committed stock changes are published; a new in-process feed by default. */
  readonly feed?: StockFeed;
  /** Most products kept in memory for GetProduct/BatchGetProducts (see ProductCache); 0 turns that off. */
  readonly cacheSize?: number;
  /**
   * Most listings (searches, category pages) kept in memory; 0 = off. What a listing holds
   * depends only on the products' fields, not on their stock, so it is dropped on every change
   * of a product's fields (see ReadCache).
   */
  readonly listingCacheSize?: number;
  /** Age after which a kept listing is read again, for the changes this process does not make. */
  readonly listingMaxAgeSeconds?: number;
  /** Told right after a commit that wrote events to the outbox, with their rows (hands them to the relay). */
  readonly onEventsWritten?: (written: readonly OutboxRow[]) => void;
}

/** The catalog's use cases. Inputs are already validated (see domain/validation.ts). */
export interface Catalog extends StockSource {
  /** Reads the database (not the product cache): the page shows what is committed now. */
  listProducts(q: ProductQuery): Promise<ProductPage>;
  /** NOT_FOUND for an unknown id. */
  getProduct(id: string): Promise<Product>;
  /** Products in the order of `ids` and the ids that do not exist. */
  batchGetProducts(ids: readonly string[]): Promise<{ products: Product[]; missingIds: string[] }>;
  /** All items or none; the first outcome recorded for an order id is returned on every call. */
  reserveStock(orderId: string, items: readonly StockItem[]): Promise<ReservationOutcome>;
  /** Status after the call, undefined when the order has no reservation. */
  releaseStock(orderId: string, reason: string): Promise<ReservationStatus | undefined>;
  /**
   * reserveStock inside a transaction the caller owns (an event consumer's, next to its inbox
   * record): StockReserved/StockRejected go to that transaction's outbox, and the caller runs
   * the change's `afterCommit()` once it committed.
   */
  reserveStockIn(trx: Transaction<CatalogDb>, orderId: string, items: readonly StockItem[]): Promise<StockChange<ReservationOutcome>>;
  /**
   * releaseStock inside a transaction the caller owns (see reserveStockIn). With `tombstone`, an
   * order without a reservation gets a released one that holds nothing, so that a reservation
   * asked for it later holds nothing either (the order was cancelled before it reached us).
   */
  releaseStockIn(
    trx: Transaction<CatalogDb>,
    orderId: string,
    reason: string,
    opts?: { tombstone?: boolean },
  ): Promise<StockChange<ReservationStatus | undefined>>;
  /**
   * Puts the refunded units of an order back on sale, inside a transaction the caller owns (see
   * reserveStockIn): one stock adjustment per line, with `reason`. A product no longer stocked
   * is skipped (and logged).
   */
  restockIn(trx: Transaction<CatalogDb>, orderId: string, items: readonly StockItem[], reason: string): Promise<StockChange<StockLevel[]>>;
  /** NOT_FOUND for an unknown product, FAILED_PRECONDITION below zero available. */
  adjustStock(productId: string, delta: number, reason: string): Promise<StockLevel>;
  /**
   * Operator: adds a product with its initial stock (logged as an adjustment), at version 1,
   * audited. ALREADY_EXISTS when the id is taken.
   */
  createProduct(id: string, fields: ProductFields, initialStock: number): Promise<Product>;
  /**
   * Operator: sets every field of a product if it is still at `expectedVersion`, audited.
   * NOT_FOUND for an unknown id; FAILED_PRECONDITION for a stale version or an archived product.
   */
  updateProduct(id: string, expectedVersion: number, fields: ProductFields): Promise<Product>;
  /**
   * Operator: takes a product off sale if it is still at `expectedVersion`, audited; an archived
   * one is answered as it is. NOT_FOUND for an unknown id; FAILED_PRECONDITION for a stale version.
   */
  archiveProduct(id: string, expectedVersion: number, reason: string): Promise<Product>;
  /** Adds products with their initial stock (logged as adjustments). */
  addProducts(products: readonly NewProduct[]): Promise<void>;
  /** Inserts `products` the first time the seed `name` runs on this schema; false when it had run before. */
  seedOnce(name: string, products: readonly NewProduct[]): Promise<boolean>;
  /** Stock books by product id, after `after`; `next` is the last id when more follow. */
  listStockBooks(q: { pageSize: number; after: string | undefined }): Promise<{ items: StockBook[]; next: string | undefined }>;
  /** Reservations by order id, after `after`; `next` is the last id when more follow. */
  listReservations(q: { pageSize: number; after: string | undefined }): Promise<{ items: ReservationRecord[]; next: string | undefined }>;
  /** A product's stock adjustments, newest first, before the adjustment `beforeId`; `next` is the last id when more follow. */
  listStockAdjustments(q: {
    productId: string;
    pageSize: number;
    beforeId: string | undefined;
  }): Promise<{ items: StockAdjustmentRecord[]; next: string | undefined }>;
  /**
   * A product's price history, newest first, before the entry `beforeId`; `next` is the last id
   * when more follow. NOT_FOUND for an unknown product.
   */
  listPriceChanges(q: {
    productId: string;
    pageSize: number;
    beforeId: string | undefined;
  }): Promise<{ items: PriceChangeRecord[]; next: string | undefined }>;
}

/**
 * A stock change made inside a transaction the caller owns. Its events are in that
 * transaction's outbox; what must wait for the commit is left to the caller.
 */
export interface StockChange<T> {
  readonly result: T;
  /** Publishes the new stock levels to the feed and wakes the outbox relay: call once, after the commit. */
  afterCommit(): void;
  /**
   * Call when the transaction failed after this change was made, without telling whether it
   * committed (e.g. the COMMIT itself failed): drops the cached stock levels, which may be stale.
   */
  afterUncertainCommit(): void;
}

/** Who set the first prices of products added outside any operator's call: the demo catalog and other seeds. */
const SEED_ACTOR = "seed";

/** A page of a keyset listing read one row past its size: its rows, and the key of its last when another page follows. */
function pageOf<T>(rows: readonly T[], pageSize: number, keyOf: (row: T) => string): { items: T[]; next: string | undefined } {
  const items = rows.slice(0, pageSize);
  const last = items.at(-1);
  return { items, next: rows.length > pageSize && last !== undefined ? keyOf(last) : undefined };
}

/** What a stock change does in its transaction: its result, the levels it left, the events it wrote. */
type StockWork<T> = (trx: Transaction<CatalogDb>) => Promise<{ result: T; levels: StockLevel[]; events?: Envelope[] }>;

export function createCatalog(deps: CatalogDeps): Catalog {
  const { db, logger } = deps;
  const feed = deps.feed ?? new StockFeed(logger);
  const cache = new ProductCache({
    maxEntries: deps.cacheSize ?? DEFAULT_CACHE_SIZE,
    load: (ids) => repo.findProducts(db, ids),
    feed,
  });
  const listings = new ReadCache<repo.ListedProduct[]>({
    maxEntries: deps.listingCacheSize ?? DEFAULT_LISTING_CACHE_SIZE,
    maxAgeMs: (deps.listingMaxAgeSeconds ?? DEFAULT_LISTING_MAX_AGE_SECONDS) * 1000,
  });

  /**
   * Runs `work` in the caller's transaction and writes the events it returns to the outbox
   * there; publishing its stock levels and waking the relay wait for the caller's commit.
   */
  async function stockChangeIn<T>(trx: Transaction<CatalogDb>, work: StockWork<T>): Promise<StockChange<T>> {
    const { result, levels, events = [] } = await work(trx);
    const written = await writeOutbox(trx, events);
    return {
      result,
      afterCommit() {
        // Published after the commit: watchers never see a level that could still roll back.
        if (levels.length > 0) feed.publish(levels);
        if (written.length > 0) deps.onEventsWritten?.(written);
      },
      afterUncertainCommit() {
        // Whether the change took effect is unknown and nothing was published, so no cached
        // stock level can be trusted.
        cache.clear();
      },
    };
  }

  /** Runs `work` in a transaction of its own (see stockChangeIn), then its after-commit step. */
  async function changeStock<T>(work: StockWork<T>): Promise<T> {
    const made: { change?: StockChange<T> } = {};
    let change: StockChange<T>;
    try {
      change = await inTransaction(db, async (trx) => {
        made.change = await stockChangeIn(trx, work);
        return made.change;
      });
    } catch (err) {
      // Set when the work was done and the COMMIT itself failed (e.g. the connection dropped).
      made.change?.afterUncertainCommit();
      throw err;
    }
    change.afterCommit();
    return change.result;
  }

  /** The first outcome recorded for an order, answered again (see reserveStock). */
  const replay = (orderId: string, stored: repo.StoredReservation, items: readonly StockItem[]): ReservationOutcome => {
    // Released before it was ever reserved: holds nothing, whatever is asked now.
    if (isTombstone(stored)) return { status: stored.status, shortages: [], replayed: true };
    assertSameItems(orderId, stored.items, items);
    return { status: stored.status, shortages: stored.status === "rejected" ? shortagesOf(stored.items) : [], replayed: true };
  };

  const reserve =
    (orderId: string, items: readonly StockItem[]): StockWork<ReservationOutcome> =>
    async (trx) => {
      const ids = items.map((it) => it.productId).sort(compareIds);
      const available = await repo.lockStock(trx, ids);
      const decision = decideReservation(items, available);
      // The order id is claimed only now, before any stock moves: a concurrent call for the
      // same order waits here for ours to commit and then replays its outcome.
      const claimed = await repo.insertReservation(trx, { orderId, status: decision.status, reason: decision.reason ?? null });
      if (!claimed) {
        const winner = await repo.findReservation(trx, orderId);
        if (!winner) throw new Error(`reservation ${orderId} vanished`);
        return { result: replay(orderId, winner, items), levels: [] };
      }
      const levels: StockLevel[] = [];
      if (decision.status === "reserved") {
        for (const it of [...items].sort((a, b) => compareIds(a.productId, b.productId))) {
          const level = await repo.reserveUnits(trx, it.productId, it.quantity);
          // The rows are locked and were checked above: failing here is a bug, not a shortage.
          if (!level) throw new Error(`stock of ${it.productId} changed under its lock`);
          levels.push(level);
        }
      }
      await repo.insertReservationItems(trx, orderId, decision.items);
      const event =
        decision.status === "reserved"
          ? stockReserved(orderId, decision.items)
          : stockRejected(orderId, decision.shortages, decision.reason ?? "out_of_stock");
      if (decision.status === "rejected") logger.info({ order_id: orderId, reason: decision.reason }, "reservation rejected");
      return { result: { status: decision.status, shortages: decision.shortages, replayed: false }, levels, events: [event] };
    };

  const release =
    (orderId: string, reason: string, tombstone: boolean): StockWork<ReservationStatus | undefined> =>
    async (trx) => {
      let stored = await repo.findReservation(trx, orderId, { lock: true });
      if (!stored) {
        if (!tombstone) return { result: undefined, levels: [] };
        if (await repo.insertReservation(trx, { orderId, status: "released", reason, released: true })) {
          logger.info({ order_id: orderId, reason }, "released before reserved: the order's stock will not be reserved");
          return { result: "released", levels: [] };
        }
        // A reservation committed meanwhile (the insert waited for it): release that one.
        stored = await repo.findReservation(trx, orderId, { lock: true });
        if (!stored) throw new Error(`reservation ${orderId} vanished`);
      }
      if (!releaseReturnsStock(stored.status)) return { result: stored.status, levels: [] };
      const levels: StockLevel[] = [];
      for (const it of stored.items) {
        const level = await repo.returnUnits(trx, it.productId, it.quantity);
        if (level) levels.push(level);
      }
      await repo.updateReservation(trx, orderId, { status: "released", reason, released: true });
      return { result: "released" as const, levels, events: [stockReleased(orderId, stored.items, reason)] };
    };

  /** Inserts products with their initial stock (as adjustments) and first prices (by `changedBy`, at version 1). */
  const insertProducts = async (trx: Kysely<CatalogDb>, products: readonly NewProduct[], changedBy: string) => {
    await repo.insertProducts(trx, products);
    for (const p of products) {
      if (p.onHand > 0) await repo.insertAdjustment(trx, { productId: p.id, delta: p.onHand, reason: "initial", onHandAfter: p.onHand });
    }
    await priceHistory.insertPriceChanges(
      trx,
      products.map((p) => ({
        productId: p.id,
        oldPriceCents: 0,
        oldCurrency: "",
        newPriceCents: p.priceCents,
        currency: p.currency,
        version: 1,
        changedBy,
      })),
    );
  };

  /**
   * Runs a change of a product's fields in a transaction of its own and answers the product as it
   * committed. The cached copy is dropped whatever the outcome (a failed COMMIT may still have
   * committed); loads under way meanwhile store nothing (see ProductCache.invalidate).
   */
  const changeProduct = async (id: string, work: (trx: Transaction<CatalogDb>) => Promise<Envelope[] | undefined>): Promise<Product> => {
    let done: { product: Product; written: OutboxRow[] };
    try {
      done = await inTransaction(db, async (trx) => {
        const written = await writeOutbox(trx, (await work(trx)) ?? []);
        const [row] = await repo.findProducts(trx, [id]);
        if (!row) throw new Error(`product ${id} vanished`);
        return { product: row.product, written };
      });
    } finally {
      cache.invalidate([id]);
      listings.clear();
    }
    if (done.written.length > 0) deps.onEventsWritten?.(done.written);
    return done.product;
  };

  return {
    feed,

    createProduct(id, fields, initialStock) {
      return changeProduct(id, async (trx) => {
        await insertProducts(trx, [newProductOf(id, fields, initialStock)], callActor());
        await recordAudit(trx, {
          action: "product.create",
          target: id,
          reason: "",
          details: { price_cents: fields.priceCents, currency: fields.currency, initial_stock: initialStock },
        });
        return undefined;
      });
    },

    updateProduct(id, expectedVersion, fields) {
      return changeProduct(id, async (trx) => {
        const current = await repo.lockProduct(trx, id);
        if (!current) throw notFound(`product ${id}`);
        decideProductChange(current, expectedVersion, "update");
        const [before] = await repo.findProducts(trx, [id]);
        if (!before) throw new Error(`product ${id} vanished`);
        await repo.updateProductFields(trx, id, fields);
        await recordAudit(trx, {
          action: "product.update",
          target: id,
          reason: "",
          details: {
            version: current.version + 1,
            old_price_cents: before.product.priceCents,
            price_cents: fields.priceCents,
            currency: fields.currency,
          },
        });
        const change = priceChangeOf(before.product, fields, current.version + 1);
        if (!change) return [];
        await priceHistory.insertPriceChanges(trx, [{ ...change, changedBy: callActor() }]);
        // Carts learn the new price from the event, written with the change.
        return [productPriceChanged(change, new Date())];
      });
    },

    archiveProduct(id, expectedVersion, reason) {
      return changeProduct(id, async (trx) => {
        const current = await repo.lockProduct(trx, id);
        if (!current) throw notFound(`product ${id}`);
        if (decideProductChange(current, expectedVersion, "archive") === "unchanged") return undefined;
        await repo.archiveProduct(trx, id);
        await recordAudit(trx, { action: "product.archive", target: id, reason, details: { version: current.version + 1 } });
        logger.info({ product_id: id }, "product archived");
        return undefined;
      });
    },

    async listProducts(q) {
      // One extra row tells whether another page follows.
      const rows = await listings.get(listingKey(q), () => repo.listProducts(db, { ...q, limit: q.pageSize + 1 }));
      const page = rows.slice(0, q.pageSize);
      const byId = await cache.getMany(page.map((r) => r.id));
      const last = page.at(-1);
      return {
        // A product archived since the listing was read is left out; the next read lists without it.
        items: page.flatMap((r) => byId.get(r.id) ?? []).filter((p) => q.includeArchived || !p.archived),
        next: rows.length > q.pageSize && last ? { key: last.sortKey, id: last.id } : undefined,
      };
    },

    async getProduct(id) {
      const product = await cache.get(id);
      if (!product) throw notFound(`product ${id}`);
      return product;
    },

    async batchGetProducts(ids) {
      const unique = [...new Set(ids)];
      const byId = await cache.getMany(unique);
      return {
        products: unique.flatMap((id) => byId.get(id) ?? []),
        missingIds: unique.filter((id) => !byId.has(id)),
      };
    },

    async stockLevels(ids) {
      const levels = await repo.findStockLevels(db, ids);
      const known = new Set(levels.map((l) => l.productId));
      const missing = ids.find((id) => !known.has(id));
      if (missing !== undefined) throw notFound(`product ${missing}`);
      return levels;
    },

    async reserveStock(orderId, items) {
      // Fast path for retries, without a transaction: the outcome is on record already.
      const existing = await repo.findReservation(db, orderId);
      if (existing) return replay(orderId, existing, items);
      return changeStock(reserve(orderId, items));
    },

    releaseStock(orderId, reason) {
      return changeStock(release(orderId, reason, false));
    },

    reserveStockIn(trx, orderId, items) {
      return stockChangeIn(trx, reserve(orderId, items));
    },

    releaseStockIn(trx, orderId, reason, opts = {}) {
      return stockChangeIn(trx, release(orderId, reason, opts.tombstone ?? false));
    },

    restockIn(trx, orderId, items, reason) {
      return stockChangeIn(trx, async (t) => {
        const levels: StockLevel[] = [];
        for (const { productId, quantity } of items) {
          const changed = await repo.adjustOnHand(t, productId, quantity, MAX_ON_HAND);
          if (!changed) {
            logger.warn({ order_id: orderId, product_id: productId, quantity }, "refunded units not restocked: the product is not stocked");
            continue;
          }
          await repo.insertAdjustment(t, { productId, delta: quantity, reason, onHandAfter: changed.onHand });
          levels.push(changed.level);
        }
        if (levels.length > 0) logger.info({ order_id: orderId, products: levels.length }, "refunded units restocked");
        return { result: levels, levels };
      });
    },

    async adjustStock(productId, delta, reason) {
      return changeStock(async (trx) => {
        const changed = await repo.adjustOnHand(trx, productId, delta, MAX_ON_HAND);
        if (!changed) {
          if (!(await repo.stockExists(trx, productId))) throw notFound(`product ${productId}`);
          throw failedPrecondition(
            delta < 0
              ? `not enough stock of ${productId} to remove ${-delta} units`
              : `stock of ${productId} would exceed ${MAX_ON_HAND} units`,
          );
        }
        await repo.insertAdjustment(trx, { productId, delta, reason, onHandAfter: changed.onHand });
        await recordAudit(trx, { action: "stock.adjust", target: productId, reason, details: { delta, on_hand_after: changed.onHand } });
        return { result: changed.level, levels: [changed.level] };
      });
    },

    async addProducts(products) {
      await inTransaction(db, (trx) => insertProducts(trx, products, SEED_ACTOR));
      cache.invalidate(products.map((p) => p.id));
      listings.clear();
    },

    async listStockBooks({ pageSize, after }) {
      return pageOf(await stockBooks.listStockBooks(db, { after, limit: pageSize + 1 }), pageSize, (b) => b.productId);
    },

    async listReservations({ pageSize, after }) {
      return pageOf(await stockBooks.listReservations(db, { after, limit: pageSize + 1 }), pageSize, (r) => r.orderId);
    },

    async listStockAdjustments({ productId, pageSize, beforeId }) {
      const rows = await stockBooks.listStockAdjustments(db, { productId, beforeId, limit: pageSize + 1 });
      return pageOf(rows, pageSize, (a) => a.id);
    },

    async listPriceChanges({ productId, pageSize, beforeId }) {
      const rows = await priceHistory.listPriceChanges(db, { productId, beforeId, limit: pageSize + 1 });
      // Every product has a stock row from its creation on: none means no such product.
      if (rows.length === 0 && !(await repo.stockExists(db, productId))) throw notFound(`product ${productId}`);
      return pageOf(rows, pageSize, (c) => c.id);
    },

    async seedOnce(name, products) {
      const inserted = await inTransaction(db, async (trx) => {
        if (!(await repo.claimSeed(trx, name))) return false;
        await insertProducts(trx, products, SEED_ACTOR);
        return true;
      });
      if (inserted) {
        cache.invalidate(products.map((p) => p.id));
        listings.clear();
      }
      return inserted;
    },
  };
}

/** What tells one listing from another: every part of the query. */
function listingKey(q: ProductQuery): string {
  const { sort, category, search, minPriceCents, maxPriceCents, after, pageSize, includeArchived } = q;
  return JSON.stringify([
    sort,
    category,
    search?.query,
    minPriceCents,
    maxPriceCents,
    after?.key,
    after?.id,
    pageSize,
    includeArchived === true,
  ]);
}
