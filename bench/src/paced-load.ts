// Open-loop HTTP load: requests sent at evenly spaced times, whatever the answers do, over a
// pool of keep-alive connections. A request's latency runs from the time it was due, not from
// when a connection was free to send it, so time spent waiting for a connection counts
// (no coordinated omission). autocannon's own rate option sends each second's quota at the
// start of the second, which measures bursts rather than a rate.
import * as http from "node:http";
import type { RecordableHistogram } from "node:perf_hooks";

export interface PacedRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface PacedResult {
  readonly sent: number;
  readonly answered: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly bytes: number;
  readonly durationS: number;
}

/**
 * Sends `ratePerSecond` requests per second for `durationS`, cycling through `requests`, over at
 * most `connections` connections; records each answered request's latency (µs) in `histogram`.
 */
export async function runPaced(
  requests: readonly PacedRequest[],
  opts: { connections: number; durationS: number; ratePerSecond: number; timeoutMs: number },
  histogram?: RecordableHistogram,
): Promise<PacedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const statusCodes: Record<string, number> = {};
  let answered = 0;
  let errors = 0;
  let timeouts = 0;
  let bytes = 0;
  const inFlight = new Set<Promise<void>>();
  const intervalMs = 1000 / opts.ratePerSecond;
  const total = Math.round(opts.durationS * opts.ratePerSecond);
  const started = performance.now();

  const send = (r: PacedRequest, dueAt: number) =>
    new Promise<void>((resolve) => {
      const req = http.request(r.url, { method: r.method, headers: r.headers, agent, timeout: opts.timeoutMs }, (res) => {
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on("end", () => {
          answered++;
          const code = String(res.statusCode ?? 0);
          statusCodes[code] = (statusCodes[code] ?? 0) + 1;
          histogram?.record(Math.max(1, Math.round((performance.now() - dueAt) * 1000)));
          resolve();
        });
        res.on("error", () => {
          errors++;
          resolve();
        });
      });
      req.on("timeout", () => {
        timeouts++;
        req.destroy(new Error("timeout"));
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(r.body);
    });

  for (let i = 0; i < total; i++) {
    const dueAt = started + i * intervalMs;
    const wait = dueAt - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const r = requests[i % requests.length] as PacedRequest;
    const p = send(r, dueAt);
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  agent.destroy();
  return { sent: total, answered, errors, timeouts, statusCodes, bytes, durationS: (performance.now() - started) / 1000 };
}
