import { KeyedFeed, type Logger } from "@shopmesh/platform";
import type { StockLevel } from "../domain/product.js";

/**
 * In-process feed of stock changes: the catalog service publishes the new levels after each
 * commit that changed stock, and WatchStock/StreamStock subscribers and the product cache
 * receive them.
 *
 * This reaches the subscribers of this process only: with several catalog replicas, a watcher
 * connected to one does not see the changes another commits, which is why several replicas
 * sharing a database run with CATALOG_CACHE_SIZE=0. The platform's `shareFeed` (Postgres
 * LISTEN/NOTIFY on commit, as the order service's status feed uses) would share it.
 */
export class StockFeed extends KeyedFeed<StockLevel> {
  constructor(logger?: Logger) {
    super({ name: "stock", keyOf: (level) => level.productId, logger });
  }
}

/** Where a stock watch gets its levels: the change feed, and current levels on subscribe. */
export interface StockSource {
  readonly feed: StockFeed;
  /** Current levels of `ids`, in any order; NOT_FOUND when one does not exist. */
  stockLevels(ids: readonly string[]): Promise<StockLevel[]>;
}
