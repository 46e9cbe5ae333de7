import type { Logger } from "@shopmesh/platform";
import type { StockLevel } from "../domain/product.js";

export type StockListener = (level: StockLevel) => void;

/**
 * In-process feed of stock changes: the catalog service publishes the new levels after each
 * commit that changed stock, and WatchStock/StreamStock subscribers and the product cache
 * receive them.
 *
 * This reaches the subscribers of this process only: with several catalog replicas, a watcher
 * connected to one does not see the changes another commits, which is why several replicas
 * sharing a database run with CATALOG_CACHE_SIZE=0. A shared feed (Postgres LISTEN/NOTIFY on
 * commit, as the order service's status feed uses) would fit behind this same interface.
 */
export class StockFeed {
  readonly #listeners = new Map<string, Set<StockListener>>();
  readonly #allListeners = new Set<StockListener>();

  constructor(private readonly logger?: Logger) {}

  /** Calls `listener` with every later level of `productId`; returns the unsubscribe function. */
  subscribe(productId: string, listener: StockListener): () => void {
    let set = this.#listeners.get(productId);
    if (!set) {
      set = new Set();
      this.#listeners.set(productId, set);
    }
    set.add(listener);
    return () => {
      const current = this.#listeners.get(productId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.#listeners.delete(productId);
    };
  }

  /**
   * Calls `listener` with every later level of any product, before the per-product listeners
   * (the product cache, which must be current by the time a watcher hears of a change).
   */
  subscribeAll(listener: StockListener): () => void {
    this.#allListeners.add(listener);
    return () => {
      this.#allListeners.delete(listener);
    };
  }

  publish(levels: readonly StockLevel[]): void {
    for (const level of levels) {
      for (const listener of [...this.#allListeners]) this.#call(listener, level);
      const set = this.#listeners.get(level.productId);
      if (!set) continue;
      for (const listener of [...set]) this.#call(listener, level);
    }
  }

  #call(listener: StockListener, level: StockLevel): void {
    try {
      listener(level);
    } catch (err) {
      this.logger?.error({ err, productId: level.productId }, "stock listener failed");
    }
  }

  /** Number of per-product subscriptions, across products (for tests and metrics). */
  get subscriptions(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }
}
