import { type Kysely, sql } from "kysely";
import { type Migration, migrateToLatest } from "./db/migrate.js";
import type { EventBus, Subscription } from "./events/event-bus.js";
import { observeBus } from "./events/observed-bus.js";
import {
  type FaultConfig,
  faultInjection,
  type LiveFaults,
  liveFaultInjection,
  withBrokerFault,
  withEventFaults,
} from "./faults/faults.js";
import { createOutboxRelay, type OutboxRelay, type OutboxRow, outboxBacklog } from "./events/outbox.js";
import type { ServerInterceptor } from "./grpc/interceptors.js";
import { createGrpcServer, type GrpcServer, type GrpcServerOptions } from "./grpc/server.js";
import type { ServiceRegistration } from "./grpc/service.js";
import type { Logger } from "./logger.js";
import { type ConsumerDirectory, recordConsumers } from "./operations/consumers.js";
import { watchOutboxBacklog } from "./telemetry/metrics.js";
import { registerReadiness, watchDependency } from "./telemetry/readiness.js";

export interface ServiceHostOptions<P extends HostParts = HostParts> {
  /** Service name: the `service` label of its metrics. */
  readonly name: string;
  readonly logger: Logger;
  /** The service's schema handle (`database.kysely(schema)`). */
  readonly db: Kysely<any>;
  readonly schema: string;
  readonly migrations: Record<string, Migration>;
  readonly grpc: Omit<GrpcServerOptions, "name" | "logger" | "services" | "interceptors">;
  /** Where the outbox relay publishes (with `outbox: true`); also what `subscribe` is given. */
  readonly bus?: EventBus;
  /** Runs an outbox relay onto `bus` (when there is one). */
  readonly outbox?: boolean;
  /** The service's own parts, built once the host's outbox notifier exists (the use cases take it). */
  readonly build: (host: HostContext) => P;
  /**
   * How often the database is probed once serving: while it does not answer, the service
   * reports NOT_SERVING on grpc.health.v1 and fails the admin server's /readyz, and is SERVING
   * again once it answers. Default 2000 ms.
   */
  readonly databaseProbeMs?: number;
  /** FAULTS_ENABLED and FAULTS_EVENTS of the service's config: `x-fault` on its methods, faults of its event deliveries. */
  readonly faults?: FaultConfig;
  /**
   * The faults an operator switches while it runs (on its calls, its consumers' deliveries and
   * its relay's publishes); they replace FAULTS_EVENTS.
   */
  readonly liveFaults?: LiveFaults;
}

/** What the host gives the parts it builds. */
export interface HostContext {
  /** Tells the relay that events were written, and which when known (no-op without one): see {@link OutboxRelay.notify}. */
  notifyOutbox(written?: readonly OutboxRow[]): void;
  /** The handlers the service's consumers subscribed, once subscribed: what dead letters are replayed to. */
  readonly consumers: ConsumerDirectory;
}

/** A service's own parts, which the host serves and runs. */
export interface HostParts {
  readonly services: readonly ServiceRegistration[];
  readonly interceptors?: readonly ServerInterceptor[];
  /** After the migrations, before the server binds (seeding, recovery). */
  readonly beforeServe?: () => Promise<void>;
  /** After the server and relay started, before the subscriptions. */
  readonly afterServe?: () => Promise<void>;
  /** The bus subscriptions, made once serving (only with a bus). */
  readonly subscribe?: (bus: EventBus) => Subscription[];
  /** Last step of `stop()` (closing clients). */
  readonly onStop?: () => Promise<void> | void;
}

export interface ServiceHost<P extends HostParts = HostParts> {
  /** Migrates, runs `beforeServe`, serves, starts the relay and subscriptions; resolves to the port. Idempotent. */
  start(): Promise<number>;
  /** Unsubscribes, stops the server and the relay, then `onStop`. Idempotent; waits for a start in progress. */
  stop(): Promise<void>;
  /** The bound port, once started. */
  readonly port: number;
  /** Tells the relay that events were written, and which when known (no-op without one): see {@link OutboxRelay.notify}. */
  notifyOutbox(written?: readonly OutboxRow[]): void;
  /** What `build` made. */
  readonly parts: P;
}

/** Probes the service's database; its readiness follows, and so does the server's health. */
function watchDatabase(opts: ServiceHostOptions, server: GrpcServer): { start(): Promise<void>; stop(): void } {
  const intervalMs = opts.databaseProbeMs ?? 2_000;
  let first = true;
  const watch = watchDependency({
    name: `${opts.name}/database`,
    probe: () => sql`select 1`.execute(opts.db),
    intervalMs,
    timeoutMs: Math.min(intervalMs, 2_000),
    onChange(ready, err) {
      server.setServing(ready);
      if (!ready) opts.logger.warn({ err }, "database unreachable: not serving until it answers");
      else if (!first) opts.logger.info("database answers again: serving");
      first = false;
    },
  });
  let unregister: (() => void) | undefined;
  return {
    async start() {
      unregister = registerReadiness(watch);
      await watch.start();
    },
    stop() {
      watch.stop();
      unregister?.();
    },
  };
}

/**
 * The skeleton every service's server shares: schema migrations, gRPC server, outbox relay, bus
 * subscriptions. Services are defined with `defineService`, which builds on it.
 */
export function createServiceHost<P extends HostParts>(opts: ServiceHostOptions<P>): ServiceHost<P> {
  const { db, schema, logger, name } = opts;
  // Deliveries to this service's consumers are logged and counted as its own.
  const observedBus = opts.bus && observeBus(opts.bus, name, logger);
  const faults = opts.faults?.FAULTS_ENABLED ? opts.faults : undefined;
  if (faults)
    logger.warn({ events: [...(faults.FAULTS_EVENTS?.keys() ?? [])] }, "fault injection enabled (x-fault metadata, FAULTS_EVENTS)");
  // The handlers are recorded with their injected faults, not as observed deliveries: a replayed
  // dead letter meets the same faults as a delivery, and is not counted as one.
  const recorded = observedBus && recordConsumers(observedBus);
  const consumers: ConsumerDirectory = recorded?.consumers ?? { handlerOf: () => undefined };
  // Injected event faults fail inside the observed delivery: they count as failed deliveries.
  const eventFaults = opts.liveFaults ?? faults?.FAULTS_EVENTS;
  const bus = recorded && eventFaults ? withEventFaults(recorded.bus, eventFaults) : recorded?.bus;
  // The broker as the relay sees it: a broker fault holds the events in the outbox, or slows them.
  const relayBus = bus && opts.liveFaults ? withBrokerFault(bus, opts.liveFaults) : bus;
  const relay: OutboxRelay | undefined =
    opts.outbox && relayBus ? createOutboxRelay({ db, service: name, bus: relayBus, logger }) : undefined;
  const notifyOutbox = (written?: readonly OutboxRow[]) => relay?.notify(written);
  const parts = opts.build({ notifyOutbox, consumers });
  let unwatchBacklog: (() => void) | undefined;
  const interceptors = [
    ...(faults ? [faultInjection()] : []),
    ...(opts.liveFaults ? [liveFaultInjection(opts.liveFaults)] : []),
    ...(parts.interceptors ?? []),
  ];
  const server = createGrpcServer({ ...opts.grpc, services: parts.services, interceptors, name: opts.name, logger });
  let subscriptions: Subscription[] = [];
  let serving = false;
  const database = watchDatabase(opts, server);

  const release = async () => {
    database.stop();
    // NOT_SERVING at once (health checks, Kubernetes' probes), while the consumers stop and the calls drain.
    if (serving) server.setServing(false);
    const subs = subscriptions;
    subscriptions = [];
    await Promise.all(subs.map((s) => s.unsubscribe()));
    if (serving) await server.stop();
    await relay?.stop();
    unwatchBacklog?.();
    await parts.onStop?.();
  };

  let started: Promise<number> | undefined;
  let stopped: Promise<void> | undefined;
  return {
    get port() {
      return server.port;
    },
    notifyOutbox,
    parts,
    start() {
      started ??= (async () => {
        try {
          await migrateToLatest(db, schema, opts.migrations, logger);
          await parts.beforeServe?.();
          const port = await server.start();
          serving = true;
          await database.start();
          relay?.start();
          if (relay) unwatchBacklog = watchOutboxBacklog(name, () => outboxBacklog(db));
          await parts.afterServe?.();
          if (bus && parts.subscribe) subscriptions = parts.subscribe(bus);
          return port;
        } catch (err) {
          await release().catch((e: unknown) => logger.warn({ err: e }, "cleanup after a failed start failed"));
          throw err;
        }
      })();
      return started;
    },
    stop() {
      stopped ??= (async () => {
        if (!started) {
          await parts.onStop?.();
          return;
        }
        const ok = await started.then(
          () => true,
          () => false,
        );
        if (ok) await release();
      })();
      return stopped;
    },
  };
}
