import { Code, ConnectError } from "@shopmesh/platform";
import type { StockLevel } from "../domain/product.js";
import type { StockFeed } from "./stock-feed.js";

/** Where a watch gets its levels: the change feed, and current levels on subscribe. */
export interface StockSource {
  readonly feed: StockFeed;
  /** Current levels of `ids`, in any order; NOT_FOUND when one does not exist. */
  stockLevels(ids: readonly string[]): Promise<StockLevel[]>;
}

/** Most product ids one stream may watch at once. */
export const MAX_WATCHED_PRODUCTS = 500;

/**
 * The product ids one stream watches and the levels waiting to be sent to it.
 *
 * A product is subscribed to the feed before its current level is read, so no change can slip
 * between the two; levels carry a per-product version, so one older than what was already
 * queued (the read racing a change) is dropped. Levels waiting for a slow reader are coalesced:
 * at most one per product is queued, the newest, so memory stays bounded by the watched set.
 *
 * Iterating yields levels until the signal aborts, `fail` is called, or requests have ended
 * (`endRequests`) and nothing is watched any more.
 */
export class StockWatch implements AsyncIterable<StockLevel> {
  readonly #subscriptions = new Map<string, () => void>();
  /** Version of the newest level queued or sent per watched product. */
  readonly #versions = new Map<string, number>();
  readonly #pending = new Map<string, StockLevel>();
  #wake: (() => void) | undefined;
  #requestsEnded = false;
  #closed = false;
  #error: unknown;

  constructor(
    private readonly source: StockSource,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  get watched(): ReadonlySet<string> {
    return new Set(this.#subscriptions.keys());
  }

  /**
   * Starts watching `ids` and queues the current level of each (again for ids already
   * watched: every add is answered). NOT_FOUND for an unknown product; RESOURCE_EXHAUSTED
   * beyond {@link MAX_WATCHED_PRODUCTS} products (a limit of the stream, not of one request:
   * the ids themselves are checked in validation.ts).
   */
  async add(ids: readonly string[], field = "add_product_ids"): Promise<void> {
    if (this.#closed || ids.length === 0) return;
    const fresh = ids.filter((id) => !this.#subscriptions.has(id));
    if (this.#subscriptions.size + fresh.length > MAX_WATCHED_PRODUCTS) {
      throw new ConnectError(`${field}: at most ${MAX_WATCHED_PRODUCTS} products can be watched on one stream`, Code.ResourceExhausted);
    }
    for (const id of fresh) {
      this.#subscriptions.set(
        id,
        this.source.feed.subscribe(id, (level) => this.#offer(level, false)),
      );
    }
    const levels = await this.source.stockLevels(ids);
    for (const level of levels) this.#offer(level, true);
  }

  /** Stops watching `ids`: nothing more is sent for them, including levels already queued. */
  remove(ids: readonly string[]): void {
    for (const id of ids) {
      this.#subscriptions.get(id)?.();
      this.#subscriptions.delete(id);
      this.#versions.delete(id);
      this.#pending.delete(id);
    }
    this.#notify();
  }

  /** The caller will add nothing more: the watch ends once it watches nothing. */
  endRequests(): void {
    this.#requestsEnded = true;
    this.#notify();
  }

  /** Ends the iteration with `err`. */
  fail(err: unknown): void {
    if (this.#error === undefined) this.#error = err ?? new Error("stock watch failed");
    this.#notify();
  }

  /** Drops every subscription; iteration ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.signal.removeEventListener("abort", this.#onAbort);
    for (const unsubscribe of this.#subscriptions.values()) unsubscribe();
    this.#subscriptions.clear();
    this.#pending.clear();
    this.#notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StockLevel> {
    try {
      for (;;) {
        if (this.#error !== undefined) throw this.#error;
        if (this.#closed || this.signal.aborted) return;
        const next = this.#pending.entries().next();
        if (!next.done) {
          const [id, level] = next.value;
          this.#pending.delete(id);
          yield level;
          continue;
        }
        if (this.#requestsEnded && this.#subscriptions.size === 0) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.close();
    }
  }

  #offer(level: StockLevel, answer: boolean): void {
    const id = level.productId;
    if (this.#closed || !this.#subscriptions.has(id)) return;
    const last = this.#versions.get(id);
    // A change may overtake the read of the current level; an answer to an add is sent even
    // when that version was sent already, a feed level only when it is newer.
    if (last !== undefined && (level.version < last || (level.version === last && !answer))) return;
    this.#versions.set(id, level.version);
    this.#pending.set(id, level);
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  readonly #onAbort = () => this.#notify();
}
