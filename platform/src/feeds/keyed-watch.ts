import { Code, ConnectError } from "../errors.js";
import type { KeyedFeed } from "./keyed-feed.js";

/** Where a watch gets its items: the change feed, and the current items on subscribe. */
export interface WatchSource<T> {
  readonly feed: KeyedFeed<T>;
  /** The current item of each of `keys`, in any order; rejects (NOT_FOUND) when one cannot be watched. */
  current(keys: readonly string[]): Promise<T[]>;
}

export interface KeyedWatchOptions<T> {
  /** An item's version within its key: a later change has a higher one. */
  readonly versionOf: (item: T) => number;
  /** Most keys one watch may hold at once; more is RESOURCE_EXHAUSTED. */
  readonly maxKeys: number;
  /** What the keys are, for that error: "products", "orders". */
  readonly noun: string;
  /** The request field adding keys, which that error names by default: "add_product_ids". */
  readonly field: string;
  /**
   * What waits for a slow reader: "newest" keeps one item per key, the newest (memory stays
   * bounded by the watched keys; a reader wants the state, not the steps); "every" keeps every
   * item in order (a reader wants each step).
   */
  readonly queue: "newest" | "every";
  /** An item after which its key changes no more: the watch ends once requests ended and every key's latest is final. */
  readonly isFinal?: (item: T) => boolean;
}

interface Watched<T> {
  readonly unsubscribe: () => void;
  /** Reads of the current item in flight; meanwhile feed items are held back. */
  reading: number;
  held: T[];
  /** The newest item queued or sent. */
  latest: T | undefined;
}

/**
 * The keys one stream watches and the items waiting to be sent to it.
 *
 * A key is subscribed to the feed before its current item is read, so no change can slip
 * between the two. Changes arriving during the read are held back and queued after the answer,
 * those the read already saw dropped (by version), so a watcher gets the current item first and
 * then every later one, once, in order — or, with `queue: "newest"`, the newest of them.
 *
 * Iterating yields items until the signal aborts, `fail` is called, or requests have ended
 * (`endRequests`) and every watched key has reached a final item and been sent (with no
 * `isFinal`: nothing is watched any more).
 */
export class KeyedWatch<T> implements AsyncIterable<T> {
  readonly #watched = new Map<string, Watched<T>>();
  /** Items waiting, in order: by key with `queue: "newest"` (a newer item takes its key's place), else one slot each. */
  readonly #pending = new Map<string, T>();
  #slots = 0;
  #wake: (() => void) | undefined;
  #requestsEnded = false;
  #closed = false;
  #error: unknown;

  constructor(
    private readonly source: WatchSource<T>,
    private readonly signal: AbortSignal,
    private readonly opts: KeyedWatchOptions<T>,
  ) {
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  get watched(): ReadonlySet<string> {
    return new Set(this.#watched.keys());
  }

  /**
   * Starts watching `keys` and queues the current item of each (again for keys already
   * watched: every add is answered, never with an older item than already sent). Rejects as
   * the source does for a key that cannot be watched; RESOURCE_EXHAUSTED naming `field` beyond
   * `maxKeys` keys (a limit of the stream, not of one request), watching nothing new.
   */
  async add(keys: readonly string[], field = this.opts.field): Promise<void> {
    if (this.#closed || keys.length === 0) return;
    const fresh = [...new Set(keys)].filter((key) => !this.#watched.has(key));
    if (this.#watched.size + fresh.length > this.opts.maxKeys) {
      throw new ConnectError(
        `${field}: at most ${this.opts.maxKeys} ${this.opts.noun} can be watched on one stream`,
        Code.ResourceExhausted,
      );
    }
    for (const key of fresh) {
      this.#watched.set(key, {
        unsubscribe: this.source.feed.subscribe(key, (item) => this.#offer(item)),
        reading: 0,
        held: [],
        latest: undefined,
      });
    }
    for (const key of keys) this.#watched.get(key)!.reading++;
    let current: T[] = [];
    try {
      current = await this.source.current(keys);
    } finally {
      const keyOf = this.source.feed.keyOf;
      const answers = new Map(current.map((item) => [keyOf(item), item]));
      for (const key of keys) {
        const w = this.#watched.get(key);
        if (!w) continue; // removed meanwhile
        w.reading--;
        const answer = answers.get(key);
        if (answer) this.#answer(w, answer);
        if (w.reading === 0) {
          const held = w.held.sort((a, b) => this.opts.versionOf(a) - this.opts.versionOf(b));
          w.held = [];
          for (const item of held) this.#accept(w, item);
        }
      }
      this.#notify();
    }
  }

  /** Stops watching `keys`: nothing more is sent for them, including items already queued. */
  remove(keys: readonly string[]): void {
    const removed = new Set(keys);
    for (const key of removed) {
      this.#watched.get(key)?.unsubscribe();
      this.#watched.delete(key);
    }
    for (const [slot, item] of this.#pending) if (removed.has(this.source.feed.keyOf(item))) this.#pending.delete(slot);
    this.#notify();
  }

  /** The caller will add nothing more: the watch ends once every watched key is final. */
  endRequests(): void {
    this.#requestsEnded = true;
    this.#notify();
  }

  /** Ends the iteration with `err`. */
  fail(err: unknown): void {
    if (this.#error === undefined) this.#error = err ?? new Error("watch failed");
    this.#notify();
  }

  /** Drops every subscription; iteration ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.signal.removeEventListener("abort", this.#onAbort);
    for (const w of this.#watched.values()) w.unsubscribe();
    this.#watched.clear();
    this.#pending.clear();
    this.#notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        if (this.#error !== undefined) throw this.#error;
        if (this.#closed || this.signal.aborted) return;
        const next = this.#pending.entries().next();
        if (!next.done) {
          const [slot, item] = next.value;
          this.#pending.delete(slot);
          yield item;
          continue;
        }
        if (this.#requestsEnded && this.#allFinal()) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.close();
    }
  }

  #allFinal(): boolean {
    const { isFinal } = this.opts;
    for (const w of this.#watched.values()) {
      if (!isFinal || w.reading > 0 || !w.latest || !isFinal(w.latest)) return false;
    }
    return true;
  }

  #offer(item: T): void {
    const w = this.#watched.get(this.source.feed.keyOf(item));
    if (this.#closed || !w) return;
    if (w.reading > 0) {
      w.held.push(item);
      return;
    }
    this.#accept(w, item);
    this.#notify();
  }

  /** Queues an item newer than anything queued or sent for its key. */
  #accept(w: Watched<T>, item: T): void {
    if (w.latest && this.opts.versionOf(item) <= this.opts.versionOf(w.latest)) return;
    w.latest = item;
    this.#enqueue(item);
  }

  /**
   * Queues the answer to an add: the item read, or the newer one already known when the read
   * raced a change. An identical answer still waiting is not queued twice.
   */
  #answer(w: Watched<T>, read: T): void {
    const { versionOf } = this.opts;
    const answer = w.latest && versionOf(w.latest) > versionOf(read) ? w.latest : read;
    w.latest = answer;
    const key = this.source.feed.keyOf(answer);
    for (const waiting of this.#pending.values()) {
      if (this.source.feed.keyOf(waiting) === key && versionOf(waiting) === versionOf(answer)) return;
    }
    this.#enqueue(answer);
  }

  #enqueue(item: T): void {
    const slot = this.opts.queue === "newest" ? `k:${this.source.feed.keyOf(item)}` : `s:${this.#slots++}`;
    this.#pending.set(slot, item);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  readonly #onAbort = () => this.#notify();
}
