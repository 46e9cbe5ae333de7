import { MessageChannel, type ResourceLimits, Worker } from "node:worker_threads";
import { ConfigError, type MetricsSnapshot, type ThreadBusHub } from "@shopmesh/platform";
import type { ServiceName } from "./service-databases.js";
import { SERVICE_WORKER_SCRIPT, takePrestartedWorker } from "./service-worker-prestart.js";

/** What runs in a worker thread: the services, or the edge. */
export type WorkerName = ServiceName | "edge";

/** An error as it crosses to the main thread (a ConfigError stays one, and a code stays with it). */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  /** The error's `code`: a gRPC status, a SQLSTATE, a Node.js error code. */
  readonly code?: string | number | undefined;
}

export type FromServiceWorker =
  | { readonly kind: "started"; readonly id: number; readonly port: number; readonly url?: string | undefined }
  | { readonly kind: "failed"; readonly id: number; readonly error: WireError }
  | { readonly kind: "metrics"; readonly id: number; readonly metrics: MetricsSnapshot }
  | { readonly kind: "readiness"; readonly checks: Readonly<Record<string, "ok" | "failing">> }
  | { readonly kind: "stopped"; readonly error?: WireError | undefined };

export type ToServiceWorker =
  /** Assemble and start one unit with these variables, as its own process would read them. */
  | { readonly kind: "start"; readonly id: number; readonly name: WorkerName; readonly env: Readonly<Record<string, string | undefined>> }
  /** Answer the thread's metrics (prom-client's JSON form, for the main thread to aggregate). */
  | { readonly kind: "metrics"; readonly id: number }
  /** Stop every unit, last started first, then end. */
  | { readonly kind: "stop" };

export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    stack: err.stack,
    ...(typeof code === "string" || typeof code === "number" ? { code } : {}),
  };
}

function fromWireError(wire: WireError): Error {
  const err: Error & { code?: string | number } = wire.name === "ConfigError" ? new ConfigError(wire.message) : new Error(wire.message);
  err.name = wire.name;
  if (wire.stack !== undefined) err.stack = wire.stack;
  if (wire.code !== undefined) err.code = wire.code;
  return err;
}

/** How a worker ended without being asked to. */
export interface WorkerExit {
  /** What it ran. */
  readonly names: readonly WorkerName[];
  readonly threadId: number;
  /** The thread's exit code (1 after an uncaught error). */
  readonly code: number;
  /** The uncaught error that ended it, when one did. */
  readonly error?: Error | undefined;
}

export interface WorkerHostOptions {
  /** Where the thread's services publish and consume their events (one connection per thread). */
  readonly hub?: ThreadBusHub | undefined;
  /** Called when the thread ends without `stop()` having been called, once something started in it. Default: a line on stderr. */
  readonly onUnexpectedExit?: ((exit: WorkerExit) => void) | undefined;
  /** How long `stop()` waits for the units to stop before terminating the thread. Default 15 s. */
  readonly stopTimeoutMs?: number | undefined;
  /** The thread's V8 heap limits (its young generation, for one, sizes its memory more than its code does). */
  readonly resourceLimits?: ResourceLimits | undefined;
}

/** One service (or the edge) started in a worker thread. */
export interface StartedUnit {
  readonly name: WorkerName;
  /** The bound port: the service's gRPC port, or the edge's HTTP port. */
  readonly port: number;
  /** A service's loopback gRPC address (`127.0.0.1:<port>`), or the edge's base URL. */
  readonly address: string;
}

/** A worker thread that runs services (and the edge) started in it one by one. */
export interface WorkerHost {
  readonly threadId: number;
  /** What has started in it so far. */
  readonly units: readonly StartedUnit[];
  /**
   * Assembles `name` in the thread as its own process would be in distributed mode (config from
   * `env` only, never this process's environment; its Postgres database at DATABASE_URL) but with
   * its events through the hub, and resolves once it serves; rejects with its error (a
   * ConfigError for a bad variable) when it cannot start, leaving the rest of the thread as it was.
   */
  start(name: WorkerName, env: Readonly<Record<string, string | undefined>>): Promise<StartedUnit>;
  /** The thread's metrics, for the main thread's admin server to aggregate. */
  metrics(): Promise<MetricsSnapshot>;
  /** The thread's readiness checks as it last reported them (each unit's database, for one). */
  readiness(): Readonly<Record<string, "ok" | "failing">>;
  /**
   * Stops every unit as its process would on SIGTERM, the last started first, then its bus and
   * databases, and resolves once the thread has ended; after `stopTimeoutMs` the thread is
   * terminated and this rejects, as it does when a unit's stop failed.
   */
  stop(): Promise<void>;
  /**
   * Terminates the thread at once without stopping anything, as a crash would (for crash tests):
   * reported through `onUnexpectedExit` like one. Resolves once it has ended.
   */
  crash(): Promise<void>;
}

/** How long a worker that reported it stopped gets to end before it is terminated. */
const EXIT_GRACE_MS = 2_000;

const live = new Set<Worker>();

/** How many service worker threads started here have not ended yet (none should outlive its mesh). */
export function liveServiceWorkers(): number {
  return live.size;
}

/** Starts a worker thread for services and the edge; resolves once it is running (nothing started in it yet). */
export function startWorkerHost(opts: WorkerHostOptions = {}): WorkerHost {
  // The thread `npm start` set off before loading the mesh, when it fits: a bus, no limits.
  const early = opts.hub && !opts.resourceLimits ? takePrestartedWorker() : undefined;
  const channel = early || !opts.hub ? undefined : new MessageChannel();
  const hubPort = early?.hubPort ?? channel?.port1;
  const disconnect = hubPort && opts.hub?.connect(hubPort);
  const worker =
    early?.worker ??
    new Worker(SERVICE_WORKER_SCRIPT, {
      workerData: { bus: channel?.port2 },
      transferList: channel ? [channel.port2] : [],
      ...(opts.resourceLimits ? { resourceLimits: opts.resourceLimits } : {}),
    });
  const { threadId } = worker;
  live.add(worker);
  const units: StartedUnit[] = [];
  const names = () => units.map((u) => u.name);
  const waiting = new Map<number, { resolve(value: never): void; reject(err: Error): void; name?: WorkerName }>();
  let nextId = 1;
  let checks: Readonly<Record<string, "ok" | "failing">> = {};
  let stopping = false;
  let failure: Error | undefined;
  let stopError: Error | undefined;
  let graceTimer: NodeJS.Timeout | undefined;

  const exited = new Promise<number>((resolve) => {
    worker.once("exit", (code) => {
      live.delete(worker);
      clearTimeout(graceTimer);
      disconnect?.();
      const gone = failure ?? new Error(`the worker thread ended with code ${code}`);
      for (const w of waiting.values()) w.reject(gone);
      waiting.clear();
      if (!stopping && units.length > 0) (opts.onUnexpectedExit ?? reportExit)({ names: names(), threadId, code, error: failure });
      resolve(code);
    });
  });
  worker.on("error", (err) => {
    failure ??= err;
  });
  worker.on("message", (message: FromServiceWorker) => {
    switch (message.kind) {
      case "started":
      case "failed":
      case "metrics": {
        const w = waiting.get(message.id);
        waiting.delete(message.id);
        if (!w) return;
        if (message.kind === "failed") w.reject(fromWireError(message.error));
        else if (message.kind === "metrics") w.resolve(message.metrics as never);
        else {
          const unit: StartedUnit = {
            name: w.name as WorkerName,
            port: message.port,
            address: message.url ?? `127.0.0.1:${message.port}`,
          };
          units.push(unit);
          w.resolve(unit as never);
        }
        return;
      }
      case "readiness":
        checks = message.checks;
        return;
      case "stopped":
        if (message.error) stopError = fromWireError(message.error);
        graceTimer ??= setTimeout(() => void worker.terminate(), EXIT_GRACE_MS);
        return;
      default: {
        const unknown: never = message;
        throw new Error(`unknown message from a service worker: ${JSON.stringify(unknown)}`);
      }
    }
  });

  const ask = <T>(message: ToServiceWorker & { id: number }, name?: WorkerName): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (stopping) {
        reject(new Error("the worker thread is stopping"));
        return;
      }
      waiting.set(message.id, { resolve: resolve as (value: never) => void, reject, ...(name ? { name } : {}) });
      worker.postMessage(message);
    });

  let stopped: Promise<void> | undefined;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 15_000;
  return {
    threadId,
    units,
    start(name, env) {
      return ask<StartedUnit>({ kind: "start", id: nextId++, name, env: { ...env } }, name);
    },
    metrics() {
      return ask<MetricsSnapshot>({ kind: "metrics", id: nextId++ });
    },
    readiness: () => checks,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const timer = setTimeout(() => {
          stopError ??= new Error(
            `${names().join(", ") || "the worker"} did not stop within ${stopTimeoutMs} ms: its thread was terminated`,
          );
          void worker.terminate();
        }, stopTimeoutMs);
        worker.postMessage({ kind: "stop" } satisfies ToServiceWorker);
        await exited;
        clearTimeout(timer);
        if (stopError) throw stopError;
      })();
      return stopped;
    },
    async crash() {
      await worker.terminate();
      await exited;
    },
  };
}

/** A worker thread running one service (or the edge). */
export interface ServiceWorker extends StartedUnit {
  readonly threadId: number;
  stop(): Promise<void>;
  crash(): Promise<void>;
}

/**
 * Runs one service (or the edge) in a worker thread of its own (see {@link WorkerHost.start});
 * when it fails to start, this rejects with its error once the thread has ended.
 */
export async function startServiceWorker(
  opts: WorkerHostOptions & { readonly name: WorkerName; readonly env: Readonly<Record<string, string | undefined>> },
): Promise<ServiceWorker> {
  const host = startWorkerHost(opts);
  try {
    const unit = await host.start(opts.name, opts.env);
    return { ...unit, threadId: host.threadId, stop: () => host.stop(), crash: () => host.crash() };
  } catch (err) {
    await host.stop().catch(() => undefined);
    throw err;
  }
}

function reportExit(exit: WorkerExit): void {
  const why = exit.error ? `: ${exit.error.stack ?? exit.error.message}` : "";
  process.stderr.write(`[launcher] the worker thread of ${exit.names.join(", ")} ended with code ${exit.code}${why}\n`);
}
