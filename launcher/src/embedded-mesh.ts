import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  addMetricsSource,
  type EventBus,
  type Logger,
  createLogger,
  createThreadBusHub,
  processAlive,
  registerReadiness,
  startEmbeddedPostgres,
} from "@shopmesh/platform";
import { type MeshCertificates, startMeshCertificates } from "./mesh-certificates.js";
import { readEmbeddedConfig } from "./config.js";
import { type Env, startUnit } from "./mesh-units.js";
import { databaseUrl, ensureDatabases, serviceDatabases } from "./service-databases.js";
import { startWorkerHost, type WorkerHost, type WorkerName } from "./service-worker.js";

export interface EmbeddedMesh {
  /** Base URL of the edge with its bound port, e.g. http://localhost:8080. */
  readonly url: string;
  /** The port the edge is bound to (the one picked when EDGE_PORT is 0). */
  readonly edgePort: number;
  /** Loopback gRPC address of each service, by service name ("catalog" → "127.0.0.1:40123"). */
  readonly services: Readonly<Record<string, string>>;
  /**
   * The in-process bus carrying the domain events (for operations and tests): a new consumer
   * group sees every event published after it subscribes; publishing delivers to every group.
   */
  readonly bus: EventBus;
  /**
   * Resolves (with the reason) if the embedded PostgreSQL server ends on its own; it is logged
   * at error, and the mesh is of no use after it: stop it.
   */
  readonly failed: Promise<Error>;
  /** The superuser's URL of the embedded PostgreSQL server (its `postgres` database). */
  readonly postgresUrl: string;
  /** The folder of the mesh's certificates (undefined with SHOPMESH_MTLS=off). */
  readonly tlsDir: string | undefined;
  stop(): Promise<void>;
}

/** The embedded server's databases: shopmesh_auth, shopmesh_catalog, … as in distributed mode. */
const DB_PREFIX = "shopmesh";
/** DATABASE_POOL_SIZE of every service in embedded mode unless the environment sets it. */
const EMBEDDED_POOL_SIZE = 4;

/**
 * Every service and the edge in this process, on a PostgreSQL server it runs as a child process
 * (its cluster in `<SHOPMESH_DATA_DIR>/postgres`, one database per service): services on
 * loopback gRPC ports, the edge on EDGE_PORT. Settings come from `env` exactly as in distributed
 * mode; only the peer addresses are filled in here. `stop()` stops the edge and the services,
 * then the server.
 */
export async function startEmbedded(env: Record<string, string | undefined> = process.env, logger?: Logger): Promise<EmbeddedMesh> {
  const cfg = readEmbeddedConfig(env);
  const log = logger ?? createLogger({ level: cfg.LOG_LEVEL });
  const inWorker = new Set(cfg.SHOPMESH_WORKER_THREAD);

  const memory = cfg.SHOPMESH_DATA_DIR === "memory";
  const dataDir = memory ? mkdtempSync(join(tmpdir(), "shopmesh-")) : resolve(cfg.SHOPMESH_DATA_DIR);
  const stops: Array<() => Promise<void>> = [];
  // Each step runs even if one before it failed: the server and the folder are let go of in any case.
  const stop = async () => {
    const errors: unknown[] = [];
    for (const s of stops.splice(0).reverse()) await s().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  };
  let fail: (err: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => {
    fail = resolve;
  });
  try {
    if (memory) stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    else stops.push(lockDataDir(dataDir));
    // The CA and every workload's certificate, made on first start and renewed while the mesh runs.
    const certificates: MeshCertificates | undefined = await startMeshCertificates(cfg, dataDir, log);
    if (certificates) stops.push(() => certificates.stop());
    const tlsDir = certificates?.dir;
    // Each service keeps its default schema in the database given here: DB_SCHEMA and DATABASE_URL
    // are for one service of distributed mode. Every unit reads its certificates from tlsDir.
    const serviceEnv = { ...env, DB_SCHEMA: undefined, DATABASE_URL: undefined, SHOPMESH_TLS_DIR: tlsDir };
    // Domain events between the services of this process: outbox → bus → inbox, the bus on this
    // thread and reached from the worker's over a message port. Held until every service has
    // subscribed: rows left unmarked by a crash go out again at start, and a consumer not yet
    // subscribed would miss them.
    const bus = createThreadBusHub({ logger: log.child({ component: "bus" }), held: true });
    stops.push(() => bus.close());
    // The worker thread loads its modules while the database server starts.
    const worker = inWorker.size > 0 ? startWorker(bus, fail) : undefined;
    if (worker) stops.push(() => worker.stop());
    const server = await startEmbeddedPostgres({
      dataDir,
      port: cfg.SHOPMESH_POSTGRES_PORT,
      durable: !memory,
      sharedBuffersMb: cfg.SHOPMESH_POSTGRES_SHARED_BUFFERS_MB,
      logger: log.child({ component: "postgres" }),
      onExit(reason) {
        log.error({ reason }, "the embedded PostgreSQL server ended");
        fail(new Error(reason));
      },
    });
    stops.push(() => server.stop());
    const names = serviceDatabases(DB_PREFIX);
    await ensureDatabases(server.url, Object.values(names));

    /** Starts `name` where SHOPMESH_WORKER_THREAD puts it; resolves to its address (the edge's URL). */
    const started = async (name: WorkerName, unitEnv: Env): Promise<{ address: string; port: number }> => {
      if (worker && inWorker.has(name)) return worker.start(name, unitEnv);
      const unit = await startUnit(name, unitEnv, bus, { logger: log });
      stops.push(() => unit.stop());
      return { address: unit.url ?? `127.0.0.1:${unit.port}`, port: unit.port };
    };
    const serviceUnitEnv = (name: keyof typeof names, more: Env = {}): Env => ({
      ...serviceEnv,
      ...more,
      DATABASE_URL: databaseUrl(server.url, names[name]),
      // Six services share one server and two cores here: a few connections each serve them as
      // well as ten, and every connection is a PostgreSQL process of its own (~3 MB).
      DATABASE_POOL_SIZE: env.DATABASE_POOL_SIZE ?? String(EMBEDDED_POOL_SIZE),
      [`${name.toUpperCase()}_HOST`]: "127.0.0.1",
      [`${name.toUpperCase()}_PORT`]: "0",
    });
    // auth first, then catalog (which verifies operators' tokens against auth): the others are given their addresses.
    const auth = (await started("auth", serviceUnitEnv("auth"))).address;
    const catalog = (await started("catalog", serviceUnitEnv("catalog", { AUTH_ADDR: auth }))).address;
    const peers = { AUTH_ADDR: auth, CATALOG_ADDR: catalog };
    const [cart, payment, notification] = await Promise.all(
      (["cart", "payment", "notification"] as const).map(async (name) => (await started(name, serviceUnitEnv(name, peers))).address),
    );
    const order = (await started("order", serviceUnitEnv("order", { ...peers, CART_ADDR: cart, PAYMENT_ADDR: payment }))).address;
    const services = { auth, catalog, cart: cart as string, payment: payment as string, notification: notification as string, order };
    bus.release();

    const edge = await started("edge", {
      ...env,
      // Uploaded product images live with the rest of the shop's data.
      EDGE_IMAGE_DIR: env.EDGE_IMAGE_DIR ?? join(dataDir, "images"),
      SHOPMESH_TLS_DIR: tlsDir,
      ...peers,
      CART_ADDR: cart,
      PAYMENT_ADDR: payment,
      NOTIFICATION_ADDR: notification,
      ORDER_ADDR: order,
    });
    // Stopped first: the edge and the services of the worker, then those of this thread.
    if (worker) stops.push(() => worker.stop());
    return { url: edge.address, edgePort: edge.port, services, bus, failed, postgresUrl: server.url, tlsDir, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/**
 * The worker thread of SHOPMESH_WORKER_THREAD's units, its metrics and readiness part of this
 * process's admin server; its death fails the mesh as the database's does.
 */
function startWorker(bus: ReturnType<typeof createThreadBusHub>, fail: (err: Error) => void): WorkerHost {
  const worker = startWorkerHost({
    hub: bus,
    onUnexpectedExit(exit) {
      fail(
        new Error(
          `the worker thread of ${exit.names.join(", ")} ended with code ${exit.code}${exit.error ? `: ${exit.error.message}` : ""}`,
        ),
      );
    },
  });
  const removeMetrics = addMetricsSource(() => worker.metrics());
  const unregister = registerReadiness({
    name: "embedded/worker-thread",
    ready: () => Object.values(worker.readiness()).every((check) => check === "ok"),
  });
  const stop = worker.stop.bind(worker);
  return Object.assign(worker, {
    async stop() {
      removeMetrics();
      unregister();
      await stop();
    },
  });
}

/**
 * Marks `dir` as this process's (`shopmesh.pid`): a start refuses a folder whose process is
 * alive, so that a server left running there by a killed one can be stopped safely.
 */
function lockDataDir(dir: string): () => Promise<void> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "shopmesh.pid");
  const owner = existsSync(file) ? Number(readFileSync(file, "utf8")) : undefined;
  if (owner && owner !== process.pid && processAlive(owner)) {
    throw new Error(`${dir} is in use by process ${owner}: stop it first or choose another SHOPMESH_DATA_DIR`);
  }
  writeFileSync(file, `${process.pid}\n`);
  return async () => rmSync(file, { force: true });
}
