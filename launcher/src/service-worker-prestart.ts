import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";

/** The compiled worker entry, found the same way from src/ (tests) and dist/. */
export const SERVICE_WORKER_SCRIPT = new URL("../dist/service-worker-main.js", import.meta.url);

/** A service worker thread started ahead of its host, with the hub's end of its bus channel. */
export interface PrestartedWorker {
  readonly worker: Worker;
  readonly hubPort: MessagePort;
}

let prestarted: (PrestartedWorker & { failed: boolean }) | undefined;

/**
 * Starts the service worker thread now, before this thread has loaded the mesh, for
 * `startWorkerHost` to take over. This module imports nothing else, so it runs first. The thread
 * does not keep the process alive until it is taken (a start that fails before then still exits).
 */
export function prestartServiceWorker(): void {
  if (prestarted) return;
  const channel = new MessageChannel();
  const worker = new Worker(SERVICE_WORKER_SCRIPT, { workerData: { bus: channel.port2 }, transferList: [channel.port2] });
  worker.unref();
  const entry = { worker, hubPort: channel.port1, failed: false };
  // Its host reports an error or an exit after it takes the thread; one before, it starts a new one.
  const failed = () => {
    entry.failed = true;
  };
  worker.once("error", failed);
  worker.once("exit", failed);
  prestarted = entry;
}

/**
 * The prestarted thread, if one is running and not taken yet: taken now (kept alive from here
 * on). One that failed before it was taken is let go of and undefined returned.
 */
export function takePrestartedWorker(): PrestartedWorker | undefined {
  const entry = prestarted;
  prestarted = undefined;
  if (!entry) return undefined;
  if (entry.failed) {
    entry.hubPort.close();
    void entry.worker.terminate();
    return undefined;
  }
  entry.worker.removeAllListeners("error").removeAllListeners("exit");
  entry.worker.ref();
  return entry;
}
