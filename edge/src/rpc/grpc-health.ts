import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@shopmesh/proto/grpc/health/v1/health_pb.js";

export interface EdgeHealthOptions {
  /**
   * Whether the edge is ready (the same answer as /readyz) and, per fronted service, whether its
   * upstream is: "" is the edge as a whole.
   */
  readonly readiness: () => Promise<{ ready: boolean; services: Readonly<Record<string, string>> }>;
  /** Aborted when the edge stops: Watch streams send NOT_SERVING and end. */
  readonly shutdown: AbortSignal;
  /** How often a Watch re-evaluates readiness. */
  readonly watchIntervalMs: number;
  /** Runs before every call (the edge's per-address rate limit): health checks cost upstream calls. */
  readonly admit?: (ctx: HandlerContext) => void;
  /** Counts a Watch against the caller's open streams; returns its release. */
  readonly openStream?: (ctx: HandlerContext) => () => void;
}

/**
 * grpc.health.v1.Health on the edge's public port, for gRPC load balancers and probes. Service
 * "" follows the edge's readiness (every upstream SERVING and the edge not stopping); a fronted
 * service's name follows its upstream; any other name is NOT_FOUND (Check) or SERVICE_UNKNOWN
 * (Watch), as the protocol says.
 */
export function registerEdgeHealth(router: ConnectRouter, opts: EdgeHealthOptions): void {
  // Concurrent probes share one round of upstream checks.
  let inflight: ReturnType<EdgeHealthOptions["readiness"]> | undefined;
  const readiness = () => {
    inflight ??= opts.readiness().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
  // Watches share one round of checks per interval, however many there are.
  let polled: { at: number; result: Awaited<ReturnType<EdgeHealthOptions["readiness"]>> } | undefined;
  const pollReadiness = async () => {
    if (polled && performance.now() - polled.at < opts.watchIntervalMs) return polled.result;
    const result = await readiness();
    polled = { at: performance.now(), result };
    return result;
  };

  const statusOf = async (service: string, watching = false): Promise<Status | undefined> => {
    if (opts.shutdown.aborted) return Status.NOT_SERVING;
    const r = await (watching ? pollReadiness() : readiness());
    if (service === "") return r.ready ? Status.SERVING : Status.NOT_SERVING;
    const upstream = r.services[service];
    if (upstream === undefined) return undefined;
    return upstream === "SERVING" && !opts.shutdown.aborted ? Status.SERVING : Status.NOT_SERVING;
  };

  router.service(Health, {
    async check(req, ctx) {
      opts.admit?.(ctx);
      const status = await statusOf(req.service);
      if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status };
    },
    async *watch(req, ctx) {
      opts.admit?.(ctx);
      const release = opts.openStream?.(ctx);
      try {
        const signal = AbortSignal.any([ctx.signal, opts.shutdown]);
        let last: Status | undefined;
        while (!signal.aborted) {
          const status = (await statusOf(req.service, true)) ?? Status.SERVICE_UNKNOWN;
          if (status !== last) {
            last = status;
            yield { status };
          }
          await sleep(opts.watchIntervalMs, signal);
        }
        // The edge is stopping: say so before the stream ends, so the balancer drains it now.
        if (opts.shutdown.aborted && !ctx.signal.aborted && last !== Status.NOT_SERVING) yield { status: Status.NOT_SERVING };
      } finally {
        release?.();
      }
    },
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
