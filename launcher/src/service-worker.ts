import { MessageChannel, type MessagePort, type ResourceLimits, Worker } from "node:worker_threads";
import { ConfigError, type ThreadBusHub } from "@shopmesh/platform";
import type { ServiceName } from "./distributed-mesh.js";

/** What runs in a worker thread: one of the services, or the edge. */
export type WorkerName = ServiceName | "edge";

/** What the worker entry (service-worker-main.ts) is given as `workerData`. */
export interface ServiceWorkerData {
  readonly name: WorkerName;
  /** The variables the service reads its config from, as its own process would from its environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The worker's end of its connection to the thread bus hub; none for the edge. */
  readonly bus?: MessagePort | undefined;
}

/** An error as it crosses to the main thread (a ConfigError stays one). */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
}

export type FromServiceWorker =
  | { readonly kind: "started"; readonly port: number; readonly url?: string | undefined }
  | { readonly kind: "failed"; readonly error: WireError }
  | { readonly kind: "stopped"; readonly error?: WireError | undefined };

export type ToServiceWorker = { readonly kind: "stop" };

export function toWireError(err: unknown): WireError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: "Error", message: String(err) };
}

function fromWireError(wire: WireError): Error {
  const err = wire.name === "ConfigError" ? new ConfigError(wire.message) : new Error(wire.message);
  err.name = wire.name;
  if (wire.stack !== undefined) err.stack = wire.stack;
  return err;
}

/** How a worker ended without being asked to. */
export interface WorkerExit {
  readonly name: WorkerName;
  readonly threadId: number;
  /** The thread's exit code (1 after an uncaught error). */
  readonly code: number;
  /** The uncaught error that ended it, when one did. */
  readonly error?: Error | undefined;
}

export interface ServiceWorkerOptions {
  readonly name: WorkerName;
  /**
   * The service's variables, as distributed mode sets them for its process: DATABASE_URL (its own
   * Postgres database), `<NAME>_HOST`/`<NAME>_PORT` (port 0 picks a free one), the peers' `*_ADDR`,
   * LOG_LEVEL… The thread reads only these, never its process's environment.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where a service publishes and consumes its events. Without it (and always for the edge) it has no bus. */
  readonly hub?: ThreadBusHub | undefined;
  /** Called when the worker ends after it started without `stop()` having been called. Default: a line on stderr. */
  readonly onUnexpectedExit?: ((exit: WorkerExit) => void) | undefined;
  /** How long `stop()` waits for the service to stop before terminating the thread. Default 15 s. */
  readonly stopTimeoutMs?: number | undefined;
  /** The thread's V8 heap limits (its young generation, for one, sizes its memory more than its code does). */
  readonly resourceLimits?: ResourceLimits | undefined;
}

export interface ServiceWorker {
  readonly name: WorkerName;
  readonly threadId: number;
  /** The bound port: the service's gRPC port, or the edge's HTTP port. */
  readonly port: number;
  /** A service's loopback gRPC address (`127.0.0.1:<port>`), or the edge's base URL. */
  readonly address: string;
  /**
   * Asks the service to stop as its process would on SIGTERM (its `stop()`, then its bus and
   * database are closed) and resolves once the thread has ended; after `stopTimeoutMs` the
   * thread is terminated and this rejects, as it does when the service's stop failed.
   */
  stop(): Promise<void>;
  /**
   * Terminates the thread at once without stopping the service, as a crash would (for crash
   * tests): reported through `onUnexpectedExit` like one. Resolves once it has ended.
   */
  crash(): Promise<void>;
}

/** The compiled worker entry, found the same way from src/ (tests) and dist/. */
const WORKER_SCRIPT = new URL("../dist/service-worker-main.js", import.meta.url);
/** How long a worker that reported it stopped (or failed to start) gets to end before it is terminated. */
const EXIT_GRACE_MS = 2_000;

const live = new Set<Worker>();

/** How many service worker threads started here have not ended yet (none should outlive its mesh). */
export function liveServiceWorkers(): number {
  return live.size;
}

/**
 * Runs one service (or the edge) in a worker thread of this process, assembled as its own
 * process would be in distributed mode (config from `env`, its Postgres database at DATABASE_URL)
 * but with the events through the thread bus hub `hub`, and resolves once it serves. When it
 * fails to start, this rejects with its error (a ConfigError for a bad variable) once the
 * thread has ended.
 */
export function startServiceWorker(opts: ServiceWorkerOptions): Promise<ServiceWorker> {
  const { name } = opts;
  const channel = opts.hub && name !== "edge" ? new MessageChannel() : undefined;
  const disconnect = channel && opts.hub?.connect(channel.port1);
  const data: ServiceWorkerData = { name, env: { ...opts.env }, bus: channel?.port2 };
  const worker = new Worker(WORKER_SCRIPT, {
    workerData: data,
    transferList: channel ? [channel.port2] : [],
    ...(opts.resourceLimits ? { resourceLimits: opts.resourceLimits } : {}),
  });
  const { threadId } = worker;
  live.add(worker);

  let phase: "starting" | "running" | "stopping" = "starting";
  let failure: Error | undefined;
  let stopError: Error | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const endSoon = () => {
    graceTimer ??= setTimeout(() => void worker.terminate(), EXIT_GRACE_MS);
  };
  const exited = new Promise<number>((resolve) => {
    worker.once("exit", (code) => {
      live.delete(worker);
      clearTimeout(graceTimer);
      disconnect?.();
      resolve(code);
    });
  });
  worker.on("error", (err) => {
    failure ??= err;
  });

  let stopped: Promise<void> | undefined;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 15_000;
  const stop = () => {
    stopped ??= (async () => {
      phase = "stopping";
      const timer = setTimeout(() => {
        stopError ??= new Error(`${name} did not stop within ${stopTimeoutMs} ms: its thread was terminated`);
        void worker.terminate();
      }, stopTimeoutMs);
      worker.postMessage({ kind: "stop" } satisfies ToServiceWorker);
      await exited;
      clearTimeout(timer);
      if (stopError) throw stopError;
    })();
    return stopped;
  };

  return new Promise<ServiceWorker>((resolve, reject) => {
    worker.on("message", (message: FromServiceWorker) => {
      switch (message.kind) {
        case "started": {
          phase = "running";
          const address = message.url ?? `127.0.0.1:${message.port}`;
          resolve({
            name,
            threadId,
            port: message.port,
            address,
            stop,
            async crash() {
              await worker.terminate();
              await exited;
            },
          });
          return;
        }
        case "failed":
          failure = fromWireError(message.error);
          endSoon();
          return;
        case "stopped":
          if (message.error) stopError = fromWireError(message.error);
          endSoon();
          return;
        default: {
          const unknown: never = message;
          throw new Error(`unknown message from the ${name} worker: ${JSON.stringify(unknown)}`);
        }
      }
    });
    void exited.then((code) => {
      if (phase === "starting") reject(failure ?? new Error(`the ${name} worker ended with code ${code} while starting`));
      else if (phase === "running") (opts.onUnexpectedExit ?? reportExit)({ name, threadId, code, error: failure });
    });
  });
}

function reportExit(exit: WorkerExit): void {
  const why = exit.error ? `: ${exit.error.stack ?? exit.error.message}` : "";
  process.stderr.write(`[launcher] the ${exit.name} worker thread ended with code ${exit.code}${why}\n`);
}
