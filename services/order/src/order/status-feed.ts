import { type Logger, listenForNotifications, type NotificationListener } from "@shopmesh/platform";
import type { Kysely } from "kysely";
import type { OrderDb } from "../db/tables.js";
import type { StatusUpdate } from "../domain/order.js";
import { findStatuses, parseStatusNotification } from "../db/order.repository.js";

export type StatusListener = (update: StatusUpdate) => void;

/**
 * In-process feed of order status changes: the order service publishes each transition after
 * the transaction that made it committed, and WatchOrders/StreamOrders subscribers receive it.
 * The catalog's stock feed works the same way.
 *
 * On its own this reaches the subscribers of this process only. Order processes sharing a
 * Postgres database (replicas) feed it with {@link listenForStatus} instead, so a transition
 * committed by one reaches the watchers connected to any.
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

  /** The orders someone is subscribed to. */
  get orderIds(): string[] {
    return [...this.#listeners.keys()];
  }

  /** Number of subscriptions, across orders (for tests and metrics). */
  get subscriptions(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }
}

/**
 * Feeds `feed` with the transitions every order process on the database announces on
 * `channel` (Postgres LISTEN; see the `statusChannel` option of createOrders), so watchers see
 * them whichever replica applied them. After a lost connection it re-reads the current status
 * of every watched order, so a watcher misses at most intermediate steps, never the outcome.
 */
export async function listenForStatus(opts: {
  readonly url: string;
  readonly channel: string;
  readonly feed: StatusFeed;
  readonly db: Kysely<OrderDb>;
  readonly logger: Logger;
}): Promise<NotificationListener> {
  const { feed, db, logger } = opts;
  return listenForNotifications({
    url: opts.url,
    channel: opts.channel,
    logger,
    onNotification: (payload) => feed.publish(parseStatusNotification(payload)),
    onResume: () => {
      findStatuses(db, null, feed.orderIds)
        .then((current) => feed.publish(current))
        .catch((err: unknown) => logger.warn({ err }, "re-reading watched orders after a lost LISTEN connection failed"));
    },
  });
}
