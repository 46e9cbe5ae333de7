// Closed-loop load of in-process calls (gRPC unary calls from the bench process): `concurrency`
// calls in flight, each replaced by the next as soon as it settles, for a fixed time. The
// figures have the shape of an HTTP load's, so that both sit in one table.
import { createHistogram } from "node:perf_hooks";
import { type LoadFigures, type LoadOptions, latencyFigures } from "./load.js";

/** Load made of calls rather than HTTP requests; `path` names it in the results. */
export interface CallLoad {
  readonly method: string;
  readonly path: string;
  call(): Promise<unknown>;
  /** Releases the client (after the load). */
  close(): void;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Runs `concurrency` loops of `call` for `durationS`; each latency sample goes to `onSample` (ms). */
async function loop(
  call: () => Promise<unknown>,
  concurrency: number,
  durationS: number,
  onSample: (ms: number) => void,
): Promise<{ calls: number; errors: number; firstError?: string; seconds: number }> {
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const end = started + durationS * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await call();
        onSample(performance.now() - t0);
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      calls++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { calls, errors, ...(firstError ? { firstError } : {}), seconds: (performance.now() - started) / 1000 };
}

/** Warm-up (discarded), then the measured run; latency percentiles over every successful call. */
export async function runCallLoad(load: CallLoad, options: LoadOptions): Promise<LoadFigures & { readonly firstError?: string }> {
  if (options.warmupS > 0)
    await loop(
      () => load.call(),
      options.connections,
      options.warmupS,
      () => {},
    );
  const histogram = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  const run = await loop(
    () => load.call(),
    options.connections,
    options.durationS,
    (ms) => histogram.record(Math.max(1, Math.round(ms * 1000))),
  );
  return {
    connections: options.connections,
    durationS: round2(run.seconds),
    requests: run.calls,
    requestsPerSecond: Math.round(run.calls / run.seconds),
    latencyMs: latencyFigures(histogram),
    errors: run.errors,
    timeouts: 0,
    non2xx: 0,
    statusCodes: { OK: run.calls - run.errors, ...(run.errors > 0 ? { error: run.errors } : {}) },
    throughputBytesPerSecond: 0,
    ...(run.firstError ? { firstError: run.firstError } : {}),
  };
}
