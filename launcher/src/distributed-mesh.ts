import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { authConfigSchema } from "@shopmesh/auth";
import { cartConfigSchema } from "@shopmesh/cart";
import { catalogConfigSchema } from "@shopmesh/catalog";
import { notificationConfigSchema } from "@shopmesh/notification";
import { orderConfigSchema } from "@shopmesh/order";
import { paymentConfigSchema } from "@shopmesh/payment";
import { closeClient, createClient, createLogger, createMeshTls, loadConfig, type MeshTls, type VarSpec } from "@shopmesh/platform";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { readDistributedConfig } from "./config.js";
import { ManagedProcess, type OutputSink, type ProcessExit } from "./managed-process.js";
import { startMeshCertificates } from "./mesh-certificates.js";
import { RestartSchedule } from "./restart-schedule.js";
import { databaseUrl, ensureDatabases, type ServiceName, serviceDatabases, serviceNames } from "./service-databases.js";

export type { OutputSink, ProcessExit } from "./managed-process.js";
export { dropServiceDatabases, type ServiceName, serviceNames } from "./service-databases.js";

interface ServiceVars {
  readonly host: string;
  readonly port: string;
  readonly addr: string;
  /** The service's own port variable, for its default and validation. */
  readonly portSpec: VarSpec<number>;
}

const serviceVars: Readonly<Record<ServiceName, ServiceVars>> = {
  auth: { host: "AUTH_HOST", port: "AUTH_PORT", addr: "AUTH_ADDR", portSpec: authConfigSchema.AUTH_PORT },
  catalog: { host: "CATALOG_HOST", port: "CATALOG_PORT", addr: "CATALOG_ADDR", portSpec: catalogConfigSchema.CATALOG_PORT },
  cart: { host: "CART_HOST", port: "CART_PORT", addr: "CART_ADDR", portSpec: cartConfigSchema.CART_PORT },
  order: { host: "ORDER_HOST", port: "ORDER_PORT", addr: "ORDER_ADDR", portSpec: orderConfigSchema.ORDER_PORT },
  payment: { host: "PAYMENT_HOST", port: "PAYMENT_PORT", addr: "PAYMENT_ADDR", portSpec: paymentConfigSchema.PAYMENT_PORT },
  notification: {
    host: "NOTIFICATION_HOST",
    port: "NOTIFICATION_PORT",
    addr: "NOTIFICATION_ADDR",
    portSpec: notificationConfigSchema.NOTIFICATION_PORT,
  },
};

export interface DistributedOptions {
  /** Where the children's output lines go. Default: this process's stdout/stderr, each line prefixed with the process name. */
  readonly output?: OutputSink;
  /**
   * Called when a process that started ends without being asked to (a crash, an outside kill).
   * Default: a report on stderr. With SHOPMESH_RESTART on (the default) the mesh then starts it
   * again after a backoff (SHOPMESH_RESTART_DELAY_MS, doubling up to SHOPMESH_RESTART_MAX_DELAY_MS).
   */
  readonly onUnexpectedExit?: (exit: ProcessExit) => void;
  /** How long a start waits for a process to become ready. Default 60 s. */
  readonly readyTimeoutMs?: number;
  /** How long a stop waits after SIGTERM before SIGKILL. Default 15 s. */
  readonly stopGraceMs?: number;
}

/** The six services and the edge, each its own Node process. */
export interface DistributedMesh {
  /** Base URL of the edge, e.g. http://localhost:8080. */
  readonly url: string;
  readonly edgePort: number;
  /** gRPC address of each service's first process ("order" → "127.0.0.1:50054"). */
  readonly services: Readonly<Record<ServiceName, string>>;
  /** Database of each service on the POSTGRES_URL server ("order" → "shopmesh_order"). */
  readonly databases: Readonly<Record<ServiceName, string>>;
  /** The folder of the mesh's certificates (undefined with SHOPMESH_MTLS=off). */
  readonly tlsDir: string | undefined;
  /** The processes by name: the services, "edge", replicas ("order-2"); running or not. */
  readonly processes: readonly string[];
  /**
   * Base URL of a process's admin server (GET /metrics, /healthz, /readyz), e.g.
   * "http://127.0.0.1:40517": each process gets a free port for it as its METRICS_PORT.
   */
  adminUrl(name: string): string;
  /** pid of a running process. */
  pid(name: string): number | undefined;
  /** Sends `signal` (default SIGTERM) to a process and resolves when it ended; it stays down until `start`. */
  kill(name: string, signal?: NodeJS.Signals): Promise<ProcessExit | undefined>;
  /**
   * Starts a process that ended, with its environment and port; resolves once it is ready (at once
   * when it runs and is not starting). A restart waiting for its delay is dropped.
   */
  start(name: string): Promise<void>;
  /** `stop(name)` stops one process (SIGTERM, then SIGKILL after the grace); `stop()` stops all of them. */
  stop(name?: string): Promise<void>;
  /** Stops a process and starts it again. */
  restart(name: string): Promise<void>;
  /**
   * How many times the mesh started a process again after it ended on its own (failed attempts
   * included); `restart`, `kill` and `start` do not count.
   */
  restarts(name: string): number;
  /**
   * Starts one more process of `service` on the same database and brokers (same consumer group)
   * on a free port, named "<service>-<n>". The edge keeps calling the first process.
   */
  startReplica(service: ServiceName): Promise<{ name: string; address: string }>;
}

interface Entry {
  readonly proc: ManagedProcess;
  /** Whether it is ready to serve now. */
  readonly ready: () => Promise<boolean>;
  readonly address: string;
  readonly adminUrl: string;
  readonly restarts: RestartSchedule;
  exited?: Promise<ProcessExit>;
  /** The start under way: resolves once the process is ready. */
  startup?: Promise<void>;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
/** The script each service process runs (the container images run the same ones). */
export const serviceScript = (service: ServiceName) => here(`../../services/${service}/dist/main.js`);
/** The script the edge process runs. */
export const edgeScript = here("../../edge/dist/main.js");

/**
 * Distributed mode on one machine: creates one database per service on the POSTGRES_URL server
 * (when missing), then starts every service (`node services/<name>/dist/main.js`) and the edge
 * (`node edge/dist/main.js`) as child processes with DATABASE_URL, KAFKA_BROKERS and the peer
 * addresses set, and resolves once every service reports SERVING and the edge's /readyz answers
 * 200. Each service migrates its schema as it starts. A port variable set to 0 (or EDGE_PORT=0)
 * makes the launcher pick a free port. The children stop when this process goes away, however it
 * ends.
 */
export async function startDistributed(
  env: Record<string, string | undefined> = process.env,
  opts: DistributedOptions = {},
): Promise<DistributedMesh> {
  const cfg = readDistributedConfig(env);
  const output = opts.output ?? prefixedOutput;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const stopGraceMs = opts.stopGraceMs ?? 15_000;

  const databases = serviceDatabases(cfg.SHOPMESH_DB_PREFIX);
  await ensureDatabases(cfg.POSTGRES_URL, Object.values(databases));
  // The CA and every workload's certificate, made on first start and renewed while the mesh runs.
  const logger = createLogger({ name: "launcher", level: cfg.LOG_LEVEL });
  const certificates = await startMeshCertificates(cfg, cfg.SHOPMESH_DATA_DIR, logger);
  const tlsDir = certificates?.dir;
  // The launcher's readiness probes speak as the operator's tool.
  const probeTls = tlsDir === undefined ? undefined : createMeshTls({ dir: tlsDir, workload: "operator-cli" });

  const configured = serviceNames.map((s) => loadConfig({ port: serviceVars[s].portSpec }, { port: env[serviceVars[s].port] }).port);
  const wanted = [...configured, cfg.EDGE_PORT];
  // Seven processes on one machine cannot share one METRICS_PORT: each gets a free one (picked
  // in the same call as the others, so that they differ).
  const free = await freePorts(wanted.filter((p) => p === 0).length + wanted.length);
  const adminPorts = free.splice(0, wanted.length);
  const ports = wanted.map((p) => (p === 0 ? (free.shift() as number) : p));
  const edgePort = ports[serviceNames.length] as number;
  const portOf = Object.fromEntries(serviceNames.map((s, i) => [s, ports[i] as number])) as Record<ServiceName, number>;
  const services = Object.fromEntries(serviceNames.map((s) => [s, `127.0.0.1:${portOf[s]}`])) as Record<ServiceName, string>;

  const shared: Record<string, string | undefined> = {
    ...env,
    // Each service keeps its default schema in its own database.
    DB_SCHEMA: undefined,
    POSTGRES_URL: undefined,
    KAFKA_BROKERS: cfg.KAFKA_BROKERS.join(","),
    LOG_LEVEL: cfg.LOG_LEVEL,
    SHOPMESH_TLS_DIR: tlsDir,
    ...Object.fromEntries(serviceNames.map((s) => [serviceVars[s].addr, services[s]])),
  };
  const serviceEnv = (service: ServiceName, port: number) => ({
    ...shared,
    DATABASE_URL: databaseUrl(cfg.POSTGRES_URL, databases[service]),
    [serviceVars[service].host]: env[serviceVars[service].host] ?? "127.0.0.1",
    [serviceVars[service].port]: String(port),
  });
  const edgeHost = env.EDGE_HOST ?? "0.0.0.0";
  const url = `http://${edgeHost === "0.0.0.0" || edgeHost === "::" ? "localhost" : edgeHost.includes(":") ? `[${edgeHost}]` : edgeHost}:${edgePort}`;

  const entries = new Map<string, Entry>();
  /** Names whose start is in progress: their exit fails that start instead of being reported. */
  const starting = new Set<string>();
  let stopping = false;
  const onUnexpectedExit = (exit: ProcessExit) => {
    if (stopping || starting.has(exit.name)) return;
    (opts.onUnexpectedExit ?? reportExit)(exit);
    if (!cfg.SHOPMESH_RESTART) return;
    const e = entry(exit.name);
    const delayMs = e.restarts.exited();
    logger.warn(
      { process: exit.name, exit: exitReason(exit), restart: e.restarts.restarts + 1, delayMs },
      `${exit.name} ${exitReason(exit)}: restarting it in ${delayMs} ms`,
    );
  };
  const restartPolicy = {
    initialDelayMs: cfg.SHOPMESH_RESTART_DELAY_MS,
    maxDelayMs: cfg.SHOPMESH_RESTART_MAX_DELAY_MS,
    resetAfterMs: cfg.SHOPMESH_RESTART_RESET_MS,
  };

  const add = (
    name: string,
    script: string,
    childEnv: Record<string, string | undefined>,
    address: string,
    adminPort: number,
    ready: () => Promise<boolean>,
  ) => {
    const proc = new ManagedProcess({ name, script, env: { ...childEnv, METRICS_PORT: String(adminPort) }, output, onUnexpectedExit });
    const restarts = new RestartSchedule(restartPolicy, {
      start: () => restartOne(name),
      onRestarted: (n) => logger.info({ process: name, restart: n }, `${name} is ready again (restart ${n})`),
      onFailed: (err, delayMs, n) =>
        logger.error({ process: name, restart: n, delayMs, err }, `${name} failed to restart: restarting it in ${delayMs} ms`),
    });
    entries.set(name, { proc, ready, address, adminUrl: `http://127.0.0.1:${adminPort}`, restarts });
  };
  serviceNames.forEach((s, i) => {
    add(s, serviceScript(s), serviceEnv(s, portOf[s]), services[s], adminPorts[i] as number, () => serving(services[s], s, probeTls));
  });
  const imageDir = env.EDGE_IMAGE_DIR ?? join(resolve(cfg.SHOPMESH_DATA_DIR), "images");
  add(
    "edge",
    edgeScript,
    { ...shared, EDGE_PORT: String(edgePort), EDGE_IMAGE_DIR: imageDir },
    `${edgeHost}:${edgePort}`,
    adminPorts.at(-1) as number,
    () => edgeReady(url),
  );

  const entry = (name: string): Entry => {
    const e = entries.get(name);
    if (!e) throw new Error(`no process named ${name} (known: ${[...entries.keys()].join(", ")})`);
    return e;
  };

  const spawn = (e: Entry) => {
    starting.add(e.proc.name);
    e.exited = e.proc.start();
  };
  const awaitReady = async (e: Entry) => {
    try {
      await waitReady(e, readyTimeoutMs);
    } finally {
      starting.delete(e.proc.name);
    }
  };
  /** Spawns the process unless it runs, and resolves once it is ready; a start under way is joined. */
  const launch = (e: Entry): Promise<void> => {
    if (e.startup) return e.startup;
    if (e.proc.running) return Promise.resolve();
    spawn(e);
    const startup = awaitReady(e).finally(() => {
      e.startup = undefined;
    });
    e.startup = startup;
    return startup;
  };
  const startOne = async (name: string) => {
    const e = entry(name);
    e.restarts.cancel();
    await launch(e);
    e.restarts.up();
  };
  /** A restart after an exit of its own; one that does not get ready is stopped, for the next to start afresh. */
  const restartOne = async (name: string) => {
    const e = entry(name);
    try {
      await launch(e);
    } catch (err) {
      await e.proc.stop(stopGraceMs);
      throw err;
    }
  };
  const stopOne = async (name: string) => {
    const e = entry(name);
    e.restarts.cancel();
    await e.proc.stop(stopGraceMs);
  };

  const killAll = () => {
    for (const e of entries.values()) e.proc.killNow();
  };
  process.on("exit", killAll);

  const stopAll = async () => {
    stopping = true;
    for (const e of entries.values()) e.restarts.cancel();
    try {
      // The edge first, so that nothing new comes in, then the services together.
      await entry("edge").proc.stop(stopGraceMs);
      await Promise.all([...entries.values()].map((e) => e.proc.stop(stopGraceMs)));
    } finally {
      process.off("exit", killAll);
      await certificates?.stop();
    }
  };

  try {
    // All at once: the services need no peer to start (their clients connect on first call),
    // and the edge is asked for readiness only once every service serves.
    for (const e of entries.values()) spawn(e);
    await Promise.all(serviceNames.map((s) => awaitReady(entry(s))));
    await awaitReady(entry("edge"));
    for (const e of entries.values()) e.restarts.up();
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    url,
    edgePort,
    services,
    databases,
    tlsDir,
    get processes() {
      return [...entries.keys()];
    },
    pid: (name) => entry(name).proc.pid,
    adminUrl: (name) => entry(name).adminUrl,
    kill(name, signal = "SIGTERM") {
      const e = entry(name);
      e.restarts.cancel();
      return e.proc.kill(signal);
    },
    start: startOne,
    async stop(name) {
      if (name !== undefined) return stopOne(name);
      stopped ??= stopAll();
      return stopped;
    },
    async restart(name) {
      await stopOne(name);
      await startOne(name);
    },
    restarts: (name) => entry(name).restarts.restarts,
    async startReplica(service) {
      let n = 2;
      while (entries.has(`${service}-${n}`)) n++;
      const name = `${service}-${n}`;
      const [port, adminPort] = await freePorts(2);
      const address = `127.0.0.1:${port}`;
      add(name, serviceScript(service), serviceEnv(service, port as number), address, adminPort as number, () =>
        serving(address, service, probeTls),
      );
      await startOne(name);
      return { name, address };
    },
  };
}

/** One line about how a process ended, with its last lines. */
export function describeExit(exit: ProcessExit): string {
  const tail = exit.tail.length > 0 ? `; its last lines:\n${exit.tail.map((l) => `  ${l}`).join("\n")}` : "";
  return `${exit.name} ${exitReason(exit)}${tail}`;
}

/** "was killed by SIGKILL", "exited with code 1". */
function exitReason(exit: ProcessExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

function reportExit(exit: ProcessExit): void {
  process.stderr.write(`[launcher] ${describeExit(exit)}\n`);
}

const NAME_WIDTH = "notification".length;

function prefixedOutput(name: string, stream: "stdout" | "stderr", line: string): void {
  (stream === "stdout" ? process.stdout : process.stderr).write(`${name.padEnd(NAME_WIDTH)} | ${line}\n`);
}

async function waitReady(e: Entry, timeoutMs: number): Promise<void> {
  let gone: ProcessExit | undefined;
  void e.exited?.then((exit) => {
    gone = exit;
  });
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`${describeExit(gone)}\n(while starting)`);
    if (await e.ready()) return;
    if (Date.now() > end) {
      throw new Error(`${e.proc.name} (${e.address}) not ready after ${timeoutMs} ms; its last lines:\n${e.proc.tail.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether the gRPC server of `workload` at `address` reports SERVING. */
async function serving(address: string, workload: string, tls: MeshTls | undefined): Promise<boolean> {
  // A fresh channel (and subchannel) per probe: one that failed to connect waits out its reconnect backoff.
  const health = createClient(Health, address, {
    tls,
    serverWorkload: workload,
    defaultTimeoutMs: 1_000,
    maxAttempts: 1,
    channelOptions: { "grpc.use_local_subchannel_pool": 1 },
  });
  try {
    const res = await health.check({ service: "" });
    return res.status === HealthCheckResponse_ServingStatus.SERVING;
  } catch {
    return false;
  } finally {
    closeClient(health);
  }
}

async function edgeReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** `count` ports free right now (held together while picking, so they differ). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "0.0.0.0", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === "string") throw new Error("no port bound");
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
