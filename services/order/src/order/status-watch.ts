import { Code, ConnectError } from "@shopmesh/platform";
import type { StatusUpdate } from "../domain/order.js";
import type { StatusFeed } from "./status-feed.js";
import { isFinal } from "../domain/status.js";

/** Where a watch gets its updates: the change feed, and current statuses on subscribe. */
export interface StatusSource {
  readonly feed: StatusFeed;
  /** Current status of each of `ids`, in any order; NOT_FOUND when one is unknown or not the watcher's. */
  currentStatuses(ids: readonly string[]): Promise<StatusUpdate[]>;
}

/** Most orders one stream may watch at once. */
export const MAX_WATCHED_ORDERS = 100;

interface Watched {
  readonly unsubscribe: () => void;
  /** Reads of the current status in flight; meanwhile feed updates are held back. */
  reading: number;
  held: StatusUpdate[];
  /** The newest update queued or sent. */
  latest: StatusUpdate | undefined;
}

const seqOf = (u: StatusUpdate) => u.transition.seq;

/**
 * The orders one stream watches and the updates waiting to be sent to it.
 *
 * An order is subscribed to the feed before its current status is read, so no transition can
 * slip between the two. Transitions arriving during the read are held back and sent after the
 * answer, those the read already saw dropped (by the transition's per-order `seq`), so a
 * watcher gets the current status first and then every later transition, once, in order.
 * Nothing is coalesced (every transition is sent); the queue stays small because an order
 * has at most three transitions after it was placed.
 *
 * Iterating yields updates until the signal aborts, `fail` is called, or requests have ended
 * (`endRequests`) and every watched order has reached a final status and been sent.
 */
export class OrderWatch implements AsyncIterable<StatusUpdate> {
  readonly #watched = new Map<string, Watched>();
  #queue: StatusUpdate[] = [];
  #wake: (() => void) | undefined;
  #requestsEnded = false;
  #closed = false;
  #error: unknown;

  constructor(
    private readonly source: StatusSource,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  get watched(): ReadonlySet<string> {
    return new Set(this.#watched.keys());
  }

  /**
   * Starts watching `ids` and queues the current status of each (again for ids already
   * watched: every add is answered). NOT_FOUND for an order that is not the watcher's;
   * RESOURCE_EXHAUSTED beyond {@link MAX_WATCHED_ORDERS} orders.
   */
  async add(ids: readonly string[], field = "add_order_ids"): Promise<void> {
    if (this.#closed || ids.length === 0) return;
    const fresh = ids.filter((id) => !this.#watched.has(id));
    if (this.#watched.size + fresh.length > MAX_WATCHED_ORDERS) {
      throw new ConnectError(`${field}: at most ${MAX_WATCHED_ORDERS} orders can be watched on one stream`, Code.ResourceExhausted);
    }
    for (const id of fresh) {
      this.#watched.set(id, {
        unsubscribe: this.source.feed.subscribe(id, (update) => this.#offer(update)),
        reading: 0,
        held: [],
        latest: undefined,
      });
    }
    for (const id of ids) this.#watched.get(id)!.reading++;
    let current: StatusUpdate[] = [];
    try {
      current = await this.source.currentStatuses(ids);
    } finally {
      const answers = new Map(current.map((u) => [u.orderId, u]));
      for (const id of ids) {
        const w = this.#watched.get(id);
        if (!w) continue; // removed meanwhile
        w.reading--;
        const answer = answers.get(id);
        if (answer) this.#answer(w, answer);
        if (w.reading === 0) {
          const held = w.held.sort((a, b) => seqOf(a) - seqOf(b));
          w.held = [];
          for (const update of held) this.#accept(w, update);
        }
      }
      this.#notify();
    }
  }

  /** Stops watching `ids`: nothing more is sent for them, including updates already queued. */
  remove(ids: readonly string[]): void {
    const removed = new Set(ids);
    for (const id of ids) {
      this.#watched.get(id)?.unsubscribe();
      this.#watched.delete(id);
    }
    this.#queue = this.#queue.filter((u) => !removed.has(u.orderId));
    this.#notify();
  }

  /** The caller will add nothing more: the watch ends once every watched order is final. */
  endRequests(): void {
    this.#requestsEnded = true;
    this.#notify();
  }

  /** Ends the iteration with `err`. */
  fail(err: unknown): void {
    if (this.#error === undefined) this.#error = err ?? new Error("order watch failed");
    this.#notify();
  }

  /** Drops every subscription; iteration ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.signal.removeEventListener("abort", this.#onAbort);
    for (const w of this.#watched.values()) w.unsubscribe();
    this.#watched.clear();
    this.#queue = [];
    this.#notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StatusUpdate> {
    try {
      for (;;) {
        if (this.#error !== undefined) throw this.#error;
        if (this.#closed || this.signal.aborted) return;
        const next = this.#queue.shift();
        if (next) {
          yield next;
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
    for (const w of this.#watched.values()) {
      if (w.reading > 0 || !w.latest || !isFinal(w.latest.status)) return false;
    }
    return true;
  }

  #offer(update: StatusUpdate): void {
    const w = this.#watched.get(update.orderId);
    if (this.#closed || !w) return;
    if (w.reading > 0) {
      w.held.push(update);
      return;
    }
    this.#accept(w, update);
    this.#notify();
  }

  /** Queues a transition newer than anything queued or sent for its order. */
  #accept(w: Watched, update: StatusUpdate): void {
    if (w.latest && seqOf(update) <= seqOf(w.latest)) return;
    w.latest = update;
    this.#queue.push(update);
  }

  /**
   * Queues the answer to an add: the status read, or the newer one already known when the read
   * raced a transition. An identical answer still waiting in the queue is not queued twice.
   */
  #answer(w: Watched, read: StatusUpdate): void {
    const answer = w.latest && seqOf(w.latest) > seqOf(read) ? w.latest : read;
    w.latest = answer;
    const waiting = this.#queue.some((u) => u.orderId === answer.orderId && seqOf(u) === seqOf(answer));
    if (!waiting) this.#queue.push(answer);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  readonly #onAbort = () => this.#notify();
}
