// Closed-loop HTTP load with autocannon, or paced load at a fixed rate (paced-load.ts). Latency percentiles come from our own microsecond
// histogram (autocannon's own has 1 ms resolution), over every response of the measured run.
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import autocannon from "autocannon";
import { type PacedRequest, runPaced } from "./paced-load.js";

export interface LoadRequest {
  readonly url: string;
  readonly method: "GET" | "POST";
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /**
   * Requests each connection sends in turn instead of `url` alone (same origin and method): a
   * path with its query, and headers added to `headers` (e.g. each shopper's token).
   */
  readonly variants?: ReadonlyArray<{ readonly path: string; readonly headers?: Readonly<Record<string, string>> }>;
}

export interface LoadOptions {
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
  /**
   * Requests per second offered over all connections (paced); undefined: as fast as answers
   * come (a closed loop, each connection sending its next request when the last is answered).
   */
  readonly ratePerSecond?: number;
}

export interface LoadFigures {
  readonly connections: number;
  /** The paced rate offered (LoadOptions.ratePerSecond), when paced. */
  readonly offeredPerSecond?: number;
  /** Measured seconds, as autocannon reports them. */
  readonly durationS: number;
  /** Completed requests (any status). */
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number; readonly mean: number };
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly throughputBytesPerSecond: number;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The percentiles of a histogram of microseconds, in milliseconds (0 for an empty one). */
export function latencyFigures(histogram: RecordableHistogram): LoadFigures["latencyMs"] {
  const toMs = (us: number) => (Number.isFinite(us) ? round2(us / 1000) : 0);
  return {
    p50: toMs(histogram.percentile(50)),
    p90: toMs(histogram.percentile(90)),
    p99: toMs(histogram.percentile(99)),
    max: toMs(histogram.max),
    mean: toMs(histogram.mean),
  };
}

/** The request's variants (or the request alone) as the paced runner sends them. */
function pacedRequests(request: LoadRequest): PacedRequest[] {
  const url = new URL(request.url);
  const variants = request.variants ?? [{ path: url.pathname + url.search }];
  return variants.map((v) => ({
    url: `${url.origin}${v.path}`,
    method: request.method,
    headers: { ...request.headers, ...v.headers },
    ...(request.body !== undefined ? { body: request.body } : {}),
  }));
}

/** `runLoad` paced: open loop at `ratePerSecond` (paced-load.ts), after a paced warm-up. */
async function runPacedLoad(request: LoadRequest, options: LoadOptions & { ratePerSecond: number }): Promise<LoadFigures> {
  const requests = pacedRequests(request);
  const run = { connections: options.connections, ratePerSecond: options.ratePerSecond, timeoutMs: 10_000 };
  if (options.warmupS > 0) await runPaced(requests, { ...run, durationS: options.warmupS });
  const histogram = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const result = await runPaced(requests, { ...run, durationS: options.durationS }, histogram);
  const non2xx = Object.entries(result.statusCodes).reduce((n, [code, count]) => (code.startsWith("2") ? n : n + count), 0);
  return {
    connections: options.connections,
    offeredPerSecond: options.ratePerSecond,
    durationS: round2(result.durationS),
    requests: result.answered,
    requestsPerSecond: Math.round(result.answered / result.durationS),
    latencyMs: latencyFigures(histogram),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx,
    statusCodes: result.statusCodes,
    throughputBytesPerSecond: Math.round(result.bytes / result.durationS),
  };
}

function runOnce(
  request: LoadRequest,
  connections: number,
  durationS: number,
  onResponse?: (responseTimeMs: number) => void,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        method: request.method,
        headers: { ...request.headers },
        ...(request.body !== undefined ? { body: request.body } : {}),
        ...(request.variants
          ? {
              requests: request.variants.map((v) => ({
                method: request.method,
                path: v.path,
                headers: { ...request.headers, ...v.headers },
              })),
            }
          : {}),
        connections,
        duration: durationS,
        timeout: 10,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (onResponse) {
      instance.on("response", (_client, _status, _bytes, responseTimeMs) => onResponse(responseTimeMs));
    }
  });
}

export async function runLoad(request: LoadRequest, options: LoadOptions): Promise<LoadFigures> {
  if (options.ratePerSecond !== undefined) return runPacedLoad(request, { ...options, ratePerSecond: options.ratePerSecond });
  if (options.warmupS > 0) await runOnce(request, options.connections, options.warmupS);

  const histogram = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const result = await runOnce(request, options.connections, options.durationS, (ms) => {
    histogram.record(Math.max(1, Math.round(ms * 1000)));
  });

  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
  const requests = result.requests.total;
  return {
    connections: options.connections,
    durationS: result.duration,
    requests,
    requestsPerSecond: Math.round(requests / result.duration),
    latencyMs: latencyFigures(histogram),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    throughputBytesPerSecond: Math.round(result.throughput.total / result.duration),
  };
}
