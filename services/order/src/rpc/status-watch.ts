import { KeyedWatch } from "@shopmesh/platform";
import type { StatusFeed } from "../app/status-feed.js";
import type { StatusUpdate } from "../domain/order.js";
import { endsCheckout, isFinal } from "../domain/status.js";

/** Where a watch gets its updates: the change feed, and current statuses on subscribe. */
export interface StatusSource {
  readonly feed: StatusFeed;
  /** Current status of each of `ids`, in any order; NOT_FOUND when one is unknown or not the watcher's. */
  currentStatuses(ids: readonly string[]): Promise<StatusUpdate[]>;
}

/** Most orders one stream may watch at once. */
export const MAX_WATCHED_ORDERS = 100;

/**
 * The orders one WatchOrders/StreamOrders stream watches and the updates waiting to be sent to
 * it: the current status of each order added, then every later transition, once, in order (by
 * the transition's per-order `seq`). Nothing is coalesced; the queue stays small because an
 * order has few transitions after it was placed (three in checkout, then its refunds). Once the client ends its requests,
 * the stream ends when every watched order has reached a final status and been sent.
 */
export class OrderWatch extends KeyedWatch<StatusUpdate> {
  /**
   * `followRefunds`: an order is done once CANCELLED or REFUNDED; otherwise once checkout is
   * over for it (PAID, or CANCELLED; a refund's statuses too, for an order watched after one).
   */
  constructor(source: StatusSource, signal: AbortSignal, opts: { followRefunds?: boolean } = {}) {
    super({ feed: source.feed, current: (ids) => source.currentStatuses(ids) }, signal, {
      versionOf: (update) => update.transition.seq,
      maxKeys: MAX_WATCHED_ORDERS,
      noun: "orders",
      field: "add_order_ids",
      queue: "every",
      isFinal: opts.followRefunds === true ? (update) => isFinal(update.status) : (update) => endsCheckout(update.status),
    });
  }
}
