/**
 * Worker thread entry of `startServiceWorker`: assembles one service (or the edge) as its
 * distributed-mode `main.ts` does — config from the given variables, its own Postgres database —
 * minus what belongs to a process (signals, the admin server, Kafka): its events go through the
 * thread bus, and the main thread says when to stop.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import {
  createLogger,
  createThreadBus,
  type Database,
  type DistributedServiceConfig,
  type EventBus,
  type Logger,
  openDatabase,
  requireDatabaseUrl,
  setupTracing,
  shutdownTracing,
  type VarSpec,
} from "@shopmesh/platform";
import { type FromServiceWorker, type ServiceWorkerData, type ToServiceWorker, toWireError, type WorkerName } from "./service-worker.js";

type Env = Readonly<Record<string, string | undefined>>;

/** A started service or edge: its port (and the edge's URL), and how to stop it and what it opened. */
interface Running {
  readonly port: number;
  readonly url?: string;
  stop(): Promise<void>;
}

type Assemble = (env: Env, bus: MessagePort | undefined) => Promise<Running>;

/** What a service's `main.ts` hands to `runService`: its schema, config reader and factory. */
function service<C extends DistributedServiceConfig>(
  schema: { readonly DATABASE_URL: VarSpec<string | undefined> },
  readConfig: (source: Env) => C,
  create: (deps: { config: C; db: Database; logger: Logger; bus?: EventBus }) => { start(): Promise<number>; stop(): Promise<void> },
): Assemble {
  return async (env, busPort) => {
    const config = readConfig(env);
    const url = requireDatabaseUrl(config, schema);
    setupTracing(config);
    const logger = createLogger({ level: config.LOG_LEVEL });
    const closers: Array<() => Promise<void>> = [shutdownTracing];
    const close = async () => {
      for (const c of closers.splice(0).reverse()) await c();
    };
    try {
      const db = await openDatabase({ kind: "postgres", url }, logger);
      closers.push(() => db.close());
      const bus = busPort && createThreadBus(busPort);
      if (bus) closers.push(() => bus.close());
      const created = create({ config, db, logger, ...(bus ? { bus } : {}) });
      closers.push(() => created.stop());
      const port = await created.start();
      // Every subscription is at the hub before the main thread hears the service is up.
      await bus?.synced();
      return { port, stop: close };
    } catch (err) {
      await close().catch((e: unknown) => logger.warn({ err: e }, "cleanup after a failed start failed"));
      throw err;
    }
  };
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
      setupTracing(config);
      const logger = createLogger({ level: config.LOG_LEVEL });
      const edge = createEdge({ config, logger: logger.child({ service: "edge" }) });
      const stop = async () => {
        await edge.stop();
        await shutdownTracing();
      };
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
if (!main) throw new Error("service-worker-main runs in a worker thread (see startServiceWorker)");
const data = workerData as ServiceWorkerData;
const post = (message: FromServiceWorker) => main.postMessage(message);

let running: Running | undefined;
let stopping = false;
/** Once nothing is left to do, the thread ends by itself: nothing else keeps it alive. */
const done = () => main.unref();

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await running?.stop();
    post({ kind: "stopped" });
  } catch (err) {
    post({ kind: "stopped", error: toWireError(err) });
  }
  done();
}

main.on("message", (message: ToServiceWorker) => {
  if (message.kind === "stop") void stop();
});

try {
  const assemble = await assemblers[data.name]();
  running = await assemble(data.env, data.bus);
  if (stopping) await running.stop();
  else post({ kind: "started", port: running.port, url: running.url });
} catch (err) {
  post({ kind: "failed", error: toWireError(err) });
  done();
}
