/**
 * Worker thread entry of `startWorkerHost`: assembles each service (or the edge) the main thread
 * asks for as its distributed-mode `main.ts` does — config from the given variables, its own
 * Postgres database — minus what belongs to a process (signals, the admin server, Kafka): the
 * thread's services share one connection to the thread bus, its metrics and readiness go to the
 * main thread's admin server, and the main thread says when to stop.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import {
  createLogger,
  createThreadBus,
  type Database,
  type DistributedServiceConfig,
  type EventBus,
  type Logger,
  metricsSnapshot,
  openDatabase,
  readinessReport,
  requireDatabaseUrl,
  setupTracing,
  shutdownTracing,
  type VarSpec,
} from "@shopmesh/platform";
import { type FromServiceWorker, type ToServiceWorker, toWireError, type WorkerName } from "./service-worker.js";

type Env = Readonly<Record<string, string | undefined>>;

/** A started service or edge: its port (and the edge's URL), and how to stop it and what it opened. */
interface Running {
  readonly port: number;
  readonly url?: string;
  stop(): Promise<void>;
}

type Assemble = (env: Env, bus: EventBus | undefined) => Promise<Running>;

/** What a service's `main.ts` hands to `runService`: its schema, config reader and factory. */
function service<C extends DistributedServiceConfig>(
  schema: { readonly DATABASE_URL: VarSpec<string | undefined> },
  readConfig: (source: Env) => C,
  create: (deps: { config: C; db: Database; logger: Logger; bus?: EventBus }) => { start(): Promise<number>; stop(): Promise<void> },
): Assemble {
  return async (env, bus) => {
    const config = readConfig(env);
    const url = requireDatabaseUrl(config, schema);
    tracing(config);
    const logger = createLogger({ level: config.LOG_LEVEL });
    const closers: Array<() => Promise<void>> = [];
    const close = async () => {
      for (const c of closers.splice(0).reverse()) await c();
    };
    try {
      const db = await openDatabase({ kind: "postgres", url }, logger);
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
/** Tracing is the thread's: set up by the first unit started in it, shut down when the thread ends. */
function tracing(config: Parameters<typeof setupTracing>[0]): void {
  if (tracingOn) return;
  tracingOn = true;
  setupTracing(config);
}

/** Each service's package is loaded only in its own thread. */
const assemblers: Readonly<Record<WorkerName, () => Promise<Assemble>>> = {
  auth: async () => {
    const m = await import("@shopmesh/auth");
    return service(m.authConfigSchema, m.readAuthConfig, m.createAuthService);
  },
  catalog: async () => {
    const m = await import("@shopmesh/catalog");
    return service(m.catalogConfigSchema, m.readCatalogConfig, m.createCatalogService);
  },
  cart: async () => {
    const m = await import("@shopmesh/cart");
    return service(m.cartConfigSchema, m.readCartConfig, m.createCartService);
  },
  order: async () => {
    const m = await import("@shopmesh/order");
    return service(m.orderConfigSchema, m.readOrderConfig, m.createOrderService);
  },
  payment: async () => {
    const m = await import("@shopmesh/payment");
    return service(m.paymentConfigSchema, m.readPaymentConfig, m.createPaymentService);
  },
  notification: async () => {
    const m = await import("@shopmesh/notification");
    return service(m.notificationConfigSchema, m.readNotificationConfig, m.createNotificationService);
  },
  edge: async () => {
    const { createEdge, readEdgeConfig } = await import("@shopmesh/edge");
    return async (env) => {
      const config = readEdgeConfig(env);
      tracing(config);
      const logger = createLogger({ level: config.LOG_LEVEL });
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

const main = parentPort;
if (!main) throw new Error("service-worker-main runs in a worker thread (see startWorkerHost)");
const busPort = (workerData as { bus?: MessagePort }).bus;
const bus = busPort && createThreadBus(busPort);
const post = (message: FromServiceWorker) => main.postMessage(message);

const running: Running[] = [];
let stopping = false;

async function start(id: number, name: WorkerName, env: Env): Promise<void> {
  try {
    const unit = await (await assemblers[name]())(env, bus);
    if (stopping) {
      await unit.stop();
      return;
    }
    running.push(unit);
    // Every subscription is at the hub before the main thread hears the service is up.
    await bus?.synced();
    post({ kind: "started", id, port: unit.port, url: unit.url });
  } catch (err) {
    post({ kind: "failed", id, error: toWireError(err) });
  }
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(readiness);
  let error: unknown;
  for (const unit of running.splice(0).reverse()) {
    try {
      await unit.stop();
    } catch (err) {
      error ??= err;
    }
  }
  await bus?.close();
  if (tracingOn) await shutdownTracing();
  post({ kind: "stopped", ...(error === undefined ? {} : { error: toWireError(error) }) });
  // Nothing else keeps the thread alive: it ends by itself.
  main?.unref();
}

// The thread's readiness checks (each service's database) as the main thread's /readyz shows them.
let reported = "";
const readiness = setInterval(() => {
  const { checks } = readinessReport();
  const text = JSON.stringify(checks);
  if (text === reported) return;
  reported = text;
  post({ kind: "readiness", checks });
}, 500);
readiness.unref();

main.on("message", (message: ToServiceWorker) => {
  switch (message.kind) {
    case "start":
      void start(message.id, message.name, message.env);
      return;
    case "metrics":
      metricsSnapshot().then(
        (metrics) => post({ kind: "metrics", id: message.id, metrics }),
        (err: unknown) => post({ kind: "failed", id: message.id, error: toWireError(err) }),
      );
      return;
    case "stop":
      void stop();
      return;
    default: {
      const unknown: never = message;
      throw new Error(`unknown message to a service worker: ${JSON.stringify(unknown)}`);
    }
  }
});
