/** Default size of the listing cache (CATALOG_LISTING_CACHE_SIZE). */
export const DEFAULT_LISTING_CACHE_SIZE = 2_000;
/** Default age after which a cached listing is read again (CATALOG_LISTING_CACHE_MAX_AGE_SECONDS). */
export const DEFAULT_LISTING_MAX_AGE_SECONDS = 10;

export interface ListingCacheOptions {
  /** Most listings kept; 0 turns the cache off (every read calls its loader). */
  readonly maxEntries: number;
  /** A listing older than this is read again. */
  readonly maxAgeMs: number;
  readonly now?: () => number;
}

interface Entry<T> {
  readonly value: T;
  readonly at: number;
}

/**
 * Answers of listing queries by key (a search, a category page), least recently read evicted
 * first. What a listing holds depends only on the products' fields, not on their stock, so
 * `clear` after every change of a product's fields keeps it exact within this process; loads
 * under way when it is called store nothing. Changes this process does not see (another replica,
 * a bulk load into the database) show once a listing is older than `maxAgeMs`: up to twice that
 * age, a read answers the kept listing and reads it again in the background (stale while
 * revalidating, so that a popular search does not wait on Postgres every `maxAgeMs`); older
 * still, it waits for the new one.
 *
 * Concurrent reads of a key that is not cached share one load.
 */
export class ListingCache<T> {
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  /** In least recently read order. */
  readonly #entries = new Map<string, Entry<T>>();
  readonly #loading = new Map<string, Promise<T>>();
  /** Bumped by `clear`: a load that started under an older generation stores nothing. */
  #generation = 0;

  constructor(opts: ListingCacheOptions) {
    this.#maxEntries = opts.maxEntries;
    this.#maxAgeMs = opts.maxAgeMs;
    this.#now = opts.now ?? Date.now;
  }

  /** The cached answer of `key`, or `load`'s, which is then kept. */
  get(key: string, load: () => Promise<T>): Promise<T> {
    if (this.#maxEntries === 0) return load();
    const entry = this.#entries.get(key);
    const age = entry ? this.#now() - entry.at : Number.POSITIVE_INFINITY;
    if (entry && age < 2 * this.#maxAgeMs) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      // A failed refresh leaves the entry to age out; a later read tries again.
      if (age >= this.#maxAgeMs && !this.#loading.has(key)) this.#load(key, load).catch(() => undefined);
      return Promise.resolve(entry.value);
    }
    return this.#loading.get(key) ?? this.#load(key, load);
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

  /** Forgets every listing; loads under way store nothing, and later reads load afresh. */
  clear(): void {
    this.#generation++;
    this.#entries.clear();
    this.#loading.clear();
  }

  /** Number of cached listings (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #store(key: string, entry: Entry<T>): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}
