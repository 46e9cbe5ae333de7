/**
 * The services and the edge as units a thread starts: each assembled as its distributed-mode
 * `main.ts` does — config from the given variables, its own Postgres database at DATABASE_URL —
 * minus what belongs to a process (signals, the admin server, Kafka): its events go through the
 * bus it is given. The embedded mesh starts them in its main thread and in worker threads alike.
 */
import {
  createLogger,
  type Database,
  type DistributedServiceConfig,
  type EventBus,
  type Logger,
  openDatabase,
  requireDatabaseUrl,
  setupTracing,
  type VarSpec,
} from "@shopmesh/platform";
import type { WorkerName } from "./service-worker.js";

/** The variables a unit reads its config from, as its own process would from its environment. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A started service or edge: its port (and the edge's URL), and how to stop it and what it opened. */
export interface RunningUnit {
  readonly port: number;
  readonly url?: string;
  stop(): Promise<void>;
}

/** How a thread has a unit started: its own logger, and whether the unit sets the thread's tracing up. */
export interface UnitOptions {
  /** Logs through this logger rather than one of its own at its LOG_LEVEL. */
  readonly logger?: Logger | undefined;
  /** Sets the thread's tracing up from the unit's config (a worker thread's first unit); default false. */
  readonly tracing?: boolean | undefined;
}

type Assemble = (env: Env, bus: EventBus | undefined, opts: UnitOptions) => Promise<RunningUnit>;

/** What a service's `main.ts` hands to `runService`: its schema, config reader and factory. */
function service<C extends DistributedServiceConfig>(
  schema: { readonly DATABASE_URL: VarSpec<string | undefined> },
  readConfig: (source: Env) => C,
  create: (deps: { config: C; db: Database; logger: Logger; bus?: EventBus }) => { start(): Promise<number>; stop(): Promise<void> },
): Assemble {
  return async (env, bus, opts) => {
    const config = readConfig(env);
    const url = requireDatabaseUrl(config, schema);
    if (opts.tracing) tracing(config);
    const logger = opts.logger ?? createLogger({ level: config.LOG_LEVEL });
    const closers: Array<() => Promise<void>> = [];
    const close = async () => {
      for (const c of closers.splice(0).reverse()) await c();
    };
    try {
      const db = await openDatabase({ url, poolSize: config.DATABASE_POOL_SIZE }, logger);
      closers.push(() => db.close());
      const created = create({ config, db, logger, ...(bus ? { bus } : {}) });
      closers.push(() => created.stop());
      const port = await created.start();
      return { port, stop: close };
    } catch (err) {
      await close().catch((e: unknown) => logger.warn({ err: e }, "cleanup after a failed start failed"));
      throw err;
    }
  };
}

let tracingOn = false;
/** Tracing is the thread's: set up by the first unit started in it that is told to, shut down when the thread ends. */
function tracing(config: Parameters<typeof setupTracing>[0]): void {
  if (tracingOn) return;
  tracingOn = true;
  setupTracing(config);
}

/** Whether a unit of this thread set tracing up. */
export function tracingStarted(): boolean {
  return tracingOn;
}

/** Each service's package is loaded only in its own thread. */
const assemblers: Readonly<Record<WorkerName, () => Promise<Assemble>>> = {
  auth: async () => {
    const m = await import("@shopmesh/auth");
    return service(m.authConfigSchema, m.readAuthConfig, m.createAuthServer);
  },
  catalog: async () => {
    const m = await import("@shopmesh/catalog");
    return service(m.catalogConfigSchema, m.readCatalogConfig, m.createCatalogServer);
  },
  cart: async () => {
    const m = await import("@shopmesh/cart");
    return service(m.cartConfigSchema, m.readCartConfig, m.createCartServer);
  },
  order: async () => {
    const m = await import("@shopmesh/order");
    return service(m.orderConfigSchema, m.readOrderConfig, m.createOrderServer);
  },
  payment: async () => {
    const m = await import("@shopmesh/payment");
    return service(m.paymentConfigSchema, m.readPaymentConfig, m.createPaymentServer);
  },
  notification: async () => {
    const m = await import("@shopmesh/notification");
    return service(m.notificationConfigSchema, m.readNotificationConfig, m.createNotificationServer);
  },
  edge: async () => {
    const { createEdge, readEdgeConfig } = await import("@shopmesh/edge");
    return async (env, _bus, opts) => {
      const config = readEdgeConfig(env);
      if (opts.tracing) tracing(config);
      const logger = opts.logger ?? createLogger({ level: config.LOG_LEVEL });
      const edge = createEdge({ config, logger: logger.child({ service: "edge" }) });
      const stop = () => edge.stop();
      try {
        const port = await edge.start();
        return { port, url: edge.url, stop };
      } catch (err) {
        await stop().catch(() => undefined);
        throw err;
      }
    };
  },
};

/**
 * Assembles and starts `name` with the variables `env`, its events through `bus`. Each package is
 * loaded only by the threads that start it.
 */
export async function startUnit(name: WorkerName, env: Env, bus: EventBus | undefined, opts: UnitOptions = {}): Promise<RunningUnit> {
  return (await assemblers[name]())(env, bus, opts);
}
