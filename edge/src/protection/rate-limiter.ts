/** Token buckets by key: `ratePerSecond` sustained, up to `burst` at once. */
export interface RateLimiterOptions {
  readonly ratePerSecond: number;
  readonly burst: number;
  /** Clock in milliseconds; default performance.now. */
  readonly now?: () => number;
}

export interface RateLimiter {
  /**
   * Takes one token of `key`'s bucket. Returns 0 when there was one, otherwise the seconds until
   * there will be (rounded up, at least 1): the Retry-After of the refusal.
   */
  take(key: string): number;
  /** Keys tracked (buckets not yet full again). */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** How often full buckets are forgotten: memory stays bounded by the clients of the last minute. */
const sweepEveryMs = 60_000;

/**
 * An in-memory token-bucket limiter. Each process keeps its own buckets: behind N edge
 * replicas a client gets up to N times the limit, which is what per-replica limits mean.
 */
export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const { ratePerSecond: rate, burst } = opts;
  if (!(rate > 0) || !(burst >= 1)) throw new Error(`rate limiter: rate ${rate}/s and burst ${burst} must be positive`);
  const now = opts.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  let lastSweep = now();

  const sweep = (t: number) => {
    lastSweep = t;
    for (const [key, b] of buckets) {
      if (b.tokens + ((t - b.at) / 1000) * rate >= burst) buckets.delete(key);
    }
  };

  return {
    get size() {
      return buckets.size;
    },
    take(key) {
      const t = now();
      if (t - lastSweep > sweepEveryMs) sweep(t);
      let b = buckets.get(key);
      if (!b) {
        b = { tokens: burst, at: t };
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
        b.at = t;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / rate));
    },
  };
}
