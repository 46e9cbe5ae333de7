import type { Logger } from "../logger.js";

export type FeedListener<T> = (item: T) => void;

export interface KeyedFeedOptions<T> {
  /** What the feed carries, for the log line of a failing listener, e.g. "stock". */
  readonly name: string;
  /** The key an item is about: a product id, an order id. */
  readonly keyOf: (item: T) => string;
  readonly logger?: Logger | undefined;
}

/**
 * In-process feed of committed changes, by key: a service publishes the changed items after the
 * commit that made them, and the watchers of their keys (and listeners to every key) receive
 * them, in publication order. On its own it reaches the listeners of this process only;
 * {@link shareFeed} feeds it from every process on the same database.
 */
export class KeyedFeed<T> {
  readonly #listeners = new Map<string, Set<FeedListener<T>>>();
  readonly #allListeners = new Set<FeedListener<T>>();
  readonly #name: string;
  readonly #logger: Logger | undefined;
  readonly keyOf: (item: T) => string;

  constructor(opts: KeyedFeedOptions<T>) {
    this.#name = opts.name;
    this.keyOf = opts.keyOf;
    this.#logger = opts.logger;
  }

  /** Calls `listener` with every later item of `key`; returns the unsubscribe function. */
  subscribe(key: string, listener: FeedListener<T>): () => void {
    let set = this.#listeners.get(key);
    if (!set) {
      set = new Set();
      this.#listeners.set(key, set);
    }
    set.add(listener);
    return () => {
      const current = this.#listeners.get(key);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.#listeners.delete(key);
    };
  }

  /**
   * Calls `listener` with every later item of any key, before the per-key listeners (a cache,
   * which must be current by the time a watcher hears of a change).
   */
  subscribeAll(listener: FeedListener<T>): () => void {
    this.#allListeners.add(listener);
    return () => {
      this.#allListeners.delete(listener);
    };
  }

  /** Hands committed items, in order, to the listeners of every key and of their own. */
  publish(items: readonly T[]): void {
    for (const item of items) {
      for (const listener of [...this.#allListeners]) this.#call(listener, item);
      const set = this.#listeners.get(this.keyOf(item));
      if (!set) continue;
      for (const listener of [...set]) this.#call(listener, item);
    }
  }

  /** The keys someone is subscribed to. */
  get keys(): string[] {
    return [...this.#listeners.keys()];
  }

  /** Number of per-key subscriptions, across keys (for tests and metrics). */
  get subscriptions(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  #call(listener: FeedListener<T>, item: T): void {
    try {
      listener(item);
    } catch (err) {
      this.#logger?.error({ err, key: this.keyOf(item) }, `${this.#name} listener failed`);
    }
  }
}
