export interface ReadCacheOptions {
  /** Most answers kept; 0 turns the cache off (every read calls its loader). */
  readonly maxEntries: number;
  /** An answer older than this is read again. */
  readonly maxAgeMs: number;
  readonly now?: () => number;
}

interface Entry<T> {
  readonly value: T;
  readonly at: number;
}

/**
 * Answers of reads by key, least recently read evicted first. `clear` after every change the
 * answers depend on keeps it exact within this process; loads under way when it is called store
 * nothing. Changes this process does not see (another replica, a bulk load into the database)
 * show once an answer is older than `maxAgeMs`: up to twice that age, a read answers the kept
 * one and reads it again in the background (stale while revalidating, so that a popular key
 * does not wait on its source every `maxAgeMs`); older still, it waits for the new one. An
 * answer is therefore at most twice `maxAgeMs` older than the load that produced it.
 *
 * Concurrent reads of a key that is not kept share one load. A failed load is not kept.
 */
export class ReadCache<T> {
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  /** In least recently read order. */
  readonly #entries = new Map<string, Entry<T>>();
  readonly #loading = new Map<string, Promise<T>>();
  /** Bumped by `clear`: a load that started under an older generation stores nothing. */
  #generation = 0;

  constructor(opts: ReadCacheOptions) {
    this.#maxEntries = opts.maxEntries;
    this.#maxAgeMs = opts.maxAgeMs;
    this.#now = opts.now ?? Date.now;
  }

  /** False when its size is 0: every read calls its loader. */
  get enabled(): boolean {
    return this.#maxEntries > 0;
  }

  /** The kept answer of `key`, or `load`'s, which is then kept. */
  get(key: string, load: () => Promise<T>): Promise<T> {
    return this.lookup(key, load).value;
  }

  /**
   * As {@link get}, also telling whether the answer was kept ("hit", a stale one included),
   * joined a load under way ("shared") or was loaded for this read ("miss").
   */
  lookup(key: string, load: () => Promise<T>): { value: Promise<T>; result: "hit" | "shared" | "miss" } {
    if (this.#maxEntries === 0) return { value: load(), result: "miss" };
    const entry = this.#entries.get(key);
    const age = entry ? this.#now() - entry.at : Number.POSITIVE_INFINITY;
    if (entry && age < 2 * this.#maxAgeMs) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      // A failed refresh leaves the entry to age out; a later read tries again.
      if (age >= this.#maxAgeMs && !this.#loading.has(key)) this.#load(key, load).catch(() => undefined);
      return { value: Promise.resolve(entry.value), result: "hit" };
    }
    const loading = this.#loading.get(key);
    if (loading) return { value: loading, result: "shared" };
    return { value: this.#load(key, load), result: "miss" };
  }

  #load(key: string, load: () => Promise<T>): Promise<T> {
    const generation = this.#generation;
    const at = this.#now();
    const loaded = load().then(
      (value) => {
        if (this.#loading.get(key) === loaded) this.#loading.delete(key);
        if (generation === this.#generation) this.#store(key, { value, at });
        return value;
      },
      (err: unknown) => {
        if (this.#loading.get(key) === loaded) this.#loading.delete(key);
        throw err;
      },
    );
    this.#loading.set(key, loaded);
    return loaded;
  }

  /** Forgets every answer; loads under way store nothing, and later reads load afresh. */
  clear(): void {
    this.#generation++;
    this.#entries.clear();
    this.#loading.clear();
  }

  /** Number of kept answers (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Keeps `entry`, then drops the least recently read answers while there are more than
   * `maxEntries` or the least recently read is past twice `maxAgeMs`: no read would answer it
   * any more, so memory holds what was read lately, not up to `maxEntries` dead answers.
   */
  #store(key: string, entry: Entry<T>): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    const expired = this.#now() - 2 * this.#maxAgeMs;
    for (const [oldestKey, oldest] of this.#entries) {
      if (oldestKey === key || (this.#entries.size <= this.#maxEntries && oldest.at > expired)) break;
      this.#entries.delete(oldestKey);
    }
  }
}
