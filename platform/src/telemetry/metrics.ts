import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from "prom-client";

/**
 * The metrics of this process, in Prometheus form. Every service hosted by the process (six of
 * them in embedded mode, one in distributed mode) registers its series here, each labelled with
 * its `service`, and the admin server's `GET /metrics` exposes them all.
 */
export const metricsRegistry = new Registry();

/** A registry's series in prom-client's JSON form: what a worker thread hands to its process's admin server. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** This thread's series as a {@link MetricsSnapshot}. */
export function metricsSnapshot(): Promise<MetricsSnapshot> {
  return metricsRegistry.getMetricsAsJSON();
}

const metricsSources = new Set<() => Promise<MetricsSnapshot>>();

/**
 * Adds the series of another thread of this process (its snapshot, asked for at each scrape) to
 * what `GET /metrics` exposes; series of the same name and labels are added up. Returns the
 * function that removes it.
 */
export function addMetricsSource(source: () => Promise<MetricsSnapshot>): () => void {
  metricsSources.add(source);
  return () => metricsSources.delete(source);
}

/** This thread's series and those of every source, in the Prometheus text format. */
export async function processMetricsText(): Promise<string> {
  if (metricsSources.size === 0) return metricsRegistry.metrics();
  const snapshots = await Promise.all([metricsSnapshot(), ...[...metricsSources].map((source) => source())]);
  return AggregatorRegistry.aggregate(snapshots).metrics();
}

let processMetricsOn = false;

/**
 * prom-client's totals of active handles, requests and resources: gauges named like counters,
 * which `promtool check metrics` refuses. The same numbers are there by type without the suffix
 * (`nodejs_active_handles{type}` …): sum them.
 */
const misnamedDefaults = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

/** Node process metrics (CPU, memory, event-loop lag, GC, handles); once per process. */
export function collectProcessMetrics(): void {
  if (processMetricsOn) return;
  processMetricsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
  for (const name of misnamedDefaults) metricsRegistry.removeSingleMetric(name);
}

/** Latency buckets in seconds, from 1 ms (a cache hit) to 10 s (the longest deadline). */
export const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Spec<L extends string> = { name: string; help: string; labelNames: readonly L[] };

/** A counter in the process registry (for a service's own metrics, e.g. saga outcomes). */
export function createCounter<L extends string>(spec: Spec<L>): Counter<L> {
  return new Counter({ ...spec, registers: [metricsRegistry] });
}

/** A gauge in the process registry; `collect` runs at each scrape. */
export function createGauge<L extends string>(spec: Spec<L> & { collect?: (this: Gauge<L>) => void | Promise<void> }): Gauge<L> {
  return new Gauge({ ...spec, registers: [metricsRegistry] });
}

/** A histogram in the process registry, with {@link durationBuckets} unless told otherwise. */
export function createHistogram<L extends string>(spec: Spec<L> & { buckets?: number[] }): Histogram<L> {
  return new Histogram({ buckets: durationBuckets, ...spec, registers: [metricsRegistry] });
}

/** RPCs served (`side: "server"`) and made (`side: "client"`), by method, kind and status code. */
export const rpcDuration = {
  server: createHistogram({
    name: "shopmesh_rpc_server_duration_seconds",
    help: "gRPC calls served: duration until the status was sent (its _count is the number of calls), by method, kind and code",
    labelNames: ["service", "method", "kind", "code"],
  }),
  client: createHistogram({
    name: "shopmesh_rpc_client_duration_seconds",
    help: "gRPC calls made to other services (each attempt): duration until the status arrived, by method, kind and code",
    labelNames: ["service", "method", "kind", "code"],
  }),
};

/** Events a consumer group finished with, by type and outcome. */
export const eventsConsumed = createCounter({
  name: "shopmesh_events_consumed_total",
  help: "Event deliveries a consumer finished: handled, duplicate (already consumed), dead_lettered (gave up), failed (to be redelivered)",
  labelNames: ["service", "type", "outcome"],
});

export const eventHandlingDuration = createHistogram({
  name: "shopmesh_event_handling_duration_seconds",
  help: "Time a consumer took over one delivery of an event, by type",
  labelNames: ["service", "type"],
});

export const eventDeliveryLag = createHistogram({
  name: "shopmesh_event_delivery_lag_seconds",
  help: "Time from an event happening to its consumer starting on it (outbox, relay and bus delays: the consumer lag in time), by type",
  labelNames: ["service", "type"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
});

export const eventsPublished = createCounter({
  name: "shopmesh_outbox_published_total",
  help: "Events the outbox relay handed to the bus, by type",
  labelNames: ["service", "type"],
});

/** Circuit breaker states, one series per state: 1 for the current one, 0 for the others. */
export const breakerStates = ["closed", "open", "half_open", "isolated"] as const;
export type BreakerStateName = (typeof breakerStates)[number];

interface TrackedBreaker {
  readonly service: string;
  readonly target: string;
  state(): BreakerStateName;
}
const breakers = new Set<TrackedBreaker>();

createGauge({
  name: "shopmesh_circuit_breaker_state",
  help: "State of the circuit breaker of a client towards a target service: 1 for the current state, 0 for the others",
  labelNames: ["service", "target", "state"],
  collect() {
    this.reset();
    for (const b of breakers) {
      const current = b.state();
      for (const state of breakerStates) this.set({ service: b.service, target: b.target, state }, state === current ? 1 : 0);
    }
  },
});

/** Reports the breaker of `service`'s client of `target` at each scrape; returns the function that stops it. */
export function trackBreaker(service: string, target: string, state: () => BreakerStateName): () => void {
  const tracked = { service, target, state };
  breakers.add(tracked);
  return () => {
    breakers.delete(tracked);
  };
}

/** The outbox backlog of a service: rows not yet published and how long the oldest has waited. */
export interface OutboxBacklog {
  readonly pending: number;
  /** Seconds since the oldest pending row was written; 0 when none is pending. */
  readonly oldestAgeSeconds: number;
}

const backlogProbes = new Map<string, () => Promise<OutboxBacklog>>();
/** One database round per scrape for both gauges. */
let backlogSnapshot: { at: number; values: Promise<Map<string, OutboxBacklog>> } | undefined;
const PROBE_TIMEOUT_MS = 1_000;

function readBacklogs(): Promise<Map<string, OutboxBacklog>> {
  const now = Date.now();
  if (backlogSnapshot && now - backlogSnapshot.at < 500) return backlogSnapshot.values;
  const values = (async () => {
    const out = new Map<string, OutboxBacklog>();
    await Promise.all(
      [...backlogProbes].map(async ([service, probe]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), PROBE_TIMEOUT_MS);
        });
        // A database that does not answer leaves the service's series out of this scrape.
        const backlog = await Promise.race([probe().catch(() => undefined), timeout]);
        clearTimeout(timer);
        if (backlog) out.set(service, backlog);
      }),
    );
    return out;
  })();
  backlogSnapshot = { at: now, values };
  return values;
}

function backlogGauge(name: string, help: string, pick: (b: OutboxBacklog) => number): Gauge<"service"> {
  return createGauge({
    name,
    help,
    labelNames: ["service"],
    async collect() {
      const backlogs = await readBacklogs();
      this.reset();
      for (const [service, b] of backlogs) this.set({ service }, pick(b));
    },
  });
}

backlogGauge("shopmesh_outbox_pending_events", "Outbox rows not yet published to the bus", (b) => b.pending);
backlogGauge(
  "shopmesh_outbox_oldest_pending_age_seconds",
  "Seconds the oldest unpublished outbox row has waited (0 when none is pending)",
  (b) => b.oldestAgeSeconds,
);

/** Reports `service`'s outbox backlog at each scrape through `probe`; returns the function that stops it. */
export function watchOutboxBacklog(service: string, probe: () => Promise<OutboxBacklog>): () => void {
  backlogProbes.set(service, probe);
  return () => {
    if (backlogProbes.get(service) === probe) backlogProbes.delete(service);
  };
}
