import type { Logger } from "@shopmesh/platform";
import type { StatusUpdate } from "./order.js";

export type StatusListener = (update: StatusUpdate) => void;

/**
 * In-process feed of order status changes: the order service publishes each transition after
 * the transaction that made it committed, and WatchOrders/StreamOrders subscribers receive it.
 * The catalog's stock feed works the same way.
 *
 * This reaches the subscribers of this process only. With several order replicas a transition
 * committed by one must reach watchers connected to another: that needs a shared feed (e.g.
 * Postgres LISTEN/NOTIFY on commit) behind this same interface.
 */
export class StatusFeed {
  readonly #listeners = new Map<string, Set<StatusListener>>();

  constructor(private readonly logger?: Logger) {}

  /** Calls `listener` with every later transition of `orderId`; returns the unsubscribe function. */
  subscribe(orderId: string, listener: StatusListener): () => void {
    let set = this.#listeners.get(orderId);
    if (!set) {
      set = new Set();
      this.#listeners.set(orderId, set);
    }
    set.add(listener);
    return () => {
      const current = this.#listeners.get(orderId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.#listeners.delete(orderId);
    };
  }

  /** Hands committed transitions, in order, to the subscribers of their orders. */
  publish(updates: readonly StatusUpdate[]): void {
    for (const update of updates) {
      const set = this.#listeners.get(update.orderId);
      if (!set) continue;
      for (const listener of [...set]) {
        try {
          listener(update);
        } catch (err) {
          this.logger?.error({ err, orderId: update.orderId }, "status listener failed");
        }
      }
    }
  }

  /** Number of subscriptions, across orders (for tests and metrics). */
  get subscriptions(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }
}
