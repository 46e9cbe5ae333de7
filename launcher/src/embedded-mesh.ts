import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createAuthService, readAuthConfig } from "@shopmesh/auth";
import { createCartService, readCartConfig } from "@shopmesh/cart";
import { createCatalogService, readCatalogConfig } from "@shopmesh/catalog";
import { createEdge, readEdgeConfig } from "@shopmesh/edge";
import { createNotificationService, readNotificationConfig } from "@shopmesh/notification";
import { createOrderService, readOrderConfig } from "@shopmesh/order";
import { createPaymentService, readPaymentConfig } from "@shopmesh/payment";
import {
  type Database,
  type EventBus,
  type Logger,
  createInProcessBus,
  createLogger,
  openDatabase,
  startEmbeddedPostgres,
} from "@shopmesh/platform";
import { readEmbeddedConfig } from "./config.js";
import { databaseUrl, ensureDatabases, type ServiceName, serviceDatabases, serviceNames } from "./service-databases.js";

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
  stop(): Promise<void>;
}

/** The embedded server's databases: shopmesh_auth, shopmesh_catalog, … as in distributed mode. */
const DB_PREFIX = "shopmesh";

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
  // Each service keeps its default schema in the database given here: DB_SCHEMA and DATABASE_URL
  // are for one service of distributed mode.
  const serviceEnv = { ...env, DB_SCHEMA: undefined, DATABASE_URL: undefined };
  const authConfig = readAuthConfig({ ...serviceEnv, AUTH_HOST: "127.0.0.1", AUTH_PORT: "0" });
  const catalogConfig = readCatalogConfig({ ...serviceEnv, CATALOG_HOST: "127.0.0.1", CATALOG_PORT: "0" });
  const edgeConfigBase = readEdgeConfig(env);

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
    const server = await startEmbeddedPostgres({
      dataDir,
      port: cfg.SHOPMESH_POSTGRES_PORT,
      durable: !memory,
      logger: log.child({ component: "postgres" }),
      onExit(reason) {
        log.error({ reason }, "the embedded PostgreSQL server ended");
        fail(new Error(reason));
      },
    });
    stops.push(() => server.stop());
    const names = serviceDatabases(DB_PREFIX);
    await ensureDatabases(server.url, Object.values(names));
    const dbs = {} as Record<ServiceName, Database>;
    for (const s of serviceNames) {
      dbs[s] = await openDatabase({ url: databaseUrl(server.url, names[s]) }, log);
      const db = dbs[s];
      stops.push(() => db.close());
    }
    // Domain events between the services of this process: outbox → in-process bus → inbox. Held
    // until every service has subscribed: rows left unmarked by a crash go out again at start, and
    // a consumer not yet subscribed would miss them.
    const bus = createInProcessBus({ logger: log.child({ component: "bus" }), held: true });
    stops.push(() => bus.close());
    const started = async <T extends { start(): Promise<number>; stop(): Promise<void>; readonly port: number }>(service: T) => {
      await service.start();
      stops.push(() => service.stop());
      return `127.0.0.1:${service.port}`;
    };
    // auth and catalog first: the others are given their addresses.
    const auth = await started(createAuthService({ config: authConfig, db: dbs.auth, logger: log, bus }));
    const catalog = await started(createCatalogService({ config: catalogConfig, db: dbs.catalog, logger: log, bus }));
    const peers = { AUTH_ADDR: auth, CATALOG_ADDR: catalog, AUTH_ISSUER: authConfig.AUTH_ISSUER, AUTH_AUDIENCE: authConfig.AUTH_AUDIENCE };
    const cartConfig = readCartConfig({ ...serviceEnv, ...peers, CART_HOST: "127.0.0.1", CART_PORT: "0" });
    const paymentConfig = readPaymentConfig({ ...serviceEnv, ...peers, PAYMENT_HOST: "127.0.0.1", PAYMENT_PORT: "0" });
    const notificationConfig = readNotificationConfig({ ...serviceEnv, ...peers, NOTIFICATION_HOST: "127.0.0.1", NOTIFICATION_PORT: "0" });
    const cart = await started(createCartService({ config: cartConfig, db: dbs.cart, logger: log, bus }));
    const payment = await started(createPaymentService({ config: paymentConfig, db: dbs.payment, logger: log, bus }));
    const notification = await started(createNotificationService({ config: notificationConfig, db: dbs.notification, logger: log, bus }));
    const orderConfig = readOrderConfig({
      ...serviceEnv,
      ...peers,
      CART_ADDR: cart,
      PAYMENT_ADDR: payment,
      ORDER_HOST: "127.0.0.1",
      ORDER_PORT: "0",
    });
    const order = await started(createOrderService({ config: orderConfig, db: dbs.order, logger: log, bus }));
    const services = { auth, catalog, cart, payment, notification, order };
    bus.release();

    const edgeConfig = readEdgeConfig({
      ...env,
      ...peers,
      EDGE_PORT: String(edgeConfigBase.EDGE_PORT),
      CART_ADDR: cart,
      PAYMENT_ADDR: payment,
      NOTIFICATION_ADDR: notification,
      ORDER_ADDR: order,
    });
    const edge = createEdge({ config: edgeConfig, logger: log.child({ service: "edge" }) });
    const edgePort = await edge.start();
    stops.push(() => edge.stop());
    return { url: edge.url, edgePort, services, bus, failed, postgresUrl: server.url, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/**
 * Marks `dir` as this process's (`shopmesh.pid`): a start refuses a folder whose process is
 * alive, so that a server left running there by a killed one can be stopped safely.
 */
function lockDataDir(dir: string): () => Promise<void> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "shopmesh.pid");
  const owner = existsSync(file) ? Number(readFileSync(file, "utf8")) : undefined;
  if (owner && owner !== process.pid && alive(owner)) {
    throw new Error(`${dir} is in use by process ${owner}: stop it first or choose another SHOPMESH_DATA_DIR`);
  }
  writeFileSync(file, `${process.pid}\n`);
  return async () => rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
