import { KeyedWatch } from "@shopmesh/platform";
import type { StockSource } from "../app/stock-feed.js";
import type { StockLevel } from "../domain/product.js";
import { MAX_WATCHED_PRODUCTS } from "../domain/validation.js";

/**
 * The products one WatchStock/StreamStock stream watches and the levels waiting to be sent to
 * it: the current level of each product added, then its changes. Levels waiting for a slow
 * reader are coalesced to the newest per product (by its version), so memory stays bounded by
 * the watched set; the stream runs until the client ends it and watches nothing any more.
 */
export class StockWatch extends KeyedWatch<StockLevel> {
  constructor(source: StockSource, signal: AbortSignal) {
    super({ feed: source.feed, current: (ids) => source.stockLevels(ids) }, signal, {
      versionOf: (level) => level.version,
      maxKeys: MAX_WATCHED_PRODUCTS,
      noun: "products",
      field: "add_product_ids",
      queue: "newest",
    });
  }
}
