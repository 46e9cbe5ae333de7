import { type Product, type StockLevel, type VersionedProduct, withNewerStock } from "../domain/product.js";
import type { StockFeed } from "./stock-feed.js";

/** Default size of the product cache (CATALOG_CACHE_SIZE). */
export const DEFAULT_CACHE_SIZE = 10_000;

export interface ProductCacheOptions {
  /** Most products kept in memory; 0 turns the cache off (every read calls `load`). */
  readonly maxEntries: number;
  /** Reads the products among `ids` that exist, with the versions of their stock levels. */
  readonly load: (ids: readonly string[]) => Promise<VersionedProduct[]>;
  /** The committed stock changes, which keep the cached levels current. */
  readonly feed: StockFeed;
}

/** Ids being loaded: the newest level published meanwhile, and whether their fields changed meanwhile. */
interface Loading {
  loads: number;
  level: StockLevel | undefined;
  invalidated: boolean;
}

/**
 * Read-through cache of products by id, least recently read evicted first.
 *
 * Stock levels are never stale within this process: every committed stock change reaches the
 * cache through the stock feed before the call that made it returns, and a level is applied
 * only when its version is newer than the cached one. A load races those changes: it can read
 * a level that is overtaken before it completes. So the levels published while an id is being
 * loaded are kept and merged into the loaded row by version, and a stored entry is never
 * replaced by an older level. Changes of the product fields (addProducts) call `invalidate`,
 * which also stops loads already under way from storing what they read. Unknown ids are not
 * remembered, so a product added after a NOT_FOUND is found by the next read.
 *
 * With several catalog replicas this holds only once the feed is shared: a change committed by
 * one replica must reach the caches of all of them (as with the platform's `shareFeed`),
 * exactly as WatchStock needs. The stock feed is not shared: run a single catalog replica per
 * database, or set CATALOG_CACHE_SIZE=0.
 */
export class ProductCache {
  readonly #maxEntries: number;
  readonly #load: ProductCacheOptions["load"];
  /** In least recently read order. */
  readonly #entries = new Map<string, VersionedProduct>();
  readonly #loading = new Map<string, Loading>();

  constructor(opts: ProductCacheOptions) {
    this.#maxEntries = opts.maxEntries;
    this.#load = opts.load;
    if (this.#maxEntries > 0) opts.feed.subscribeAll((level) => this.#apply(level));
  }

  /** The product, or undefined when it does not exist. */
  async get(id: string): Promise<Product | undefined> {
    return this.#hit(id) ?? (await this.#fill([id])).get(id);
  }

  /** The products among `ids` that exist, by id. */
  async getMany(ids: readonly string[]): Promise<Map<string, Product>> {
    const found = new Map<string, Product>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = this.#hit(id);
      if (hit) found.set(id, hit);
      else missing.push(id);
    }
    if (missing.length > 0) {
      for (const [id, product] of await this.#fill(missing)) found.set(id, product);
    }
    return found;
  }

  /** Forgets `ids` after their fields changed; loads under way when this is called store nothing. */
  invalidate(ids: readonly string[]): void {
    for (const id of ids) {
      this.#entries.delete(id);
      const loading = this.#loading.get(id);
      if (loading) loading.invalidated = true;
    }
  }

  /** Forgets every product, as `invalidate` does. */
  clear(): void {
    this.#entries.clear();
    for (const loading of this.#loading.values()) loading.invalidated = true;
  }

  /** Number of cached products (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #hit(id: string): Product | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    // Most recently read last.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return entry.product;
  }

  async #fill(ids: readonly string[]): Promise<Map<string, Product>> {
    if (this.#maxEntries === 0) return new Map((await this.#load(ids)).map((v) => [v.product.id, v.product]));
    for (const id of ids) {
      const loading = this.#loading.get(id);
      if (loading) loading.loads++;
      else this.#loading.set(id, { loads: 1, level: undefined, invalidated: false });
    }
    try {
      const loaded = await this.#load(ids);
      const found = new Map<string, Product>();
      for (const row of loaded) {
        const id = row.product.id;
        const loading = this.#loading.get(id);
        let current = loading?.level ? withNewerStock(row, loading.level) : row;
        if (!loading?.invalidated) current = this.#store(current);
        found.set(id, current.product);
      }
      return found;
    } finally {
      for (const id of ids) {
        const loading = this.#loading.get(id);
        if (loading && --loading.loads === 0) this.#loading.delete(id);
      }
    }
  }

  /** Keeps `v` unless a newer level is cached already; returns what is cached. */
  #store(v: VersionedProduct): VersionedProduct {
    const id = v.product.id;
    const cached = this.#entries.get(id);
    if (cached && cached.stockVersion >= v.stockVersion) return cached;
    this.#entries.delete(id);
    this.#entries.set(id, v);
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    return v;
  }

  #apply(level: StockLevel): void {
    const id = level.productId;
    const cached = this.#entries.get(id);
    // Updated in place: a stock change is not a read, the entry keeps its place in the order.
    if (cached) this.#entries.set(id, withNewerStock(cached, level));
    const loading = this.#loading.get(id);
    if (loading && (!loading.level || level.version > loading.level.version)) loading.level = level;
  }
}
