/**
 * Worker thread entry of `startWorkerHost`: assembles each service (or the edge) the main thread
 * asks for as its distributed-mode `main.ts` does — config from the given variables, its own
 * Postgres database — minus what belongs to a process (signals, the admin server, Kafka): the
 * thread's services share one connection to the thread bus, its metrics and readiness go to the
 * main thread's admin server, and the main thread says when to stop.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { createThreadBus, metricsSnapshot, readinessReport, shutdownTracing } from "@shopmesh/platform";
import { type Env, type RunningUnit, startUnit, tracingStarted } from "./mesh-units.js";
import { type FromServiceWorker, type ToServiceWorker, toWireError, type WorkerName } from "./service-worker.js";

const main = parentPort;
if (!main) throw new Error("service-worker-main runs in a worker thread (see startWorkerHost)");
const busPort = (workerData as { bus?: MessagePort }).bus;
const bus = busPort && createThreadBus(busPort);
const post = (message: FromServiceWorker) => main.postMessage(message);

const running: RunningUnit[] = [];
let stopping = false;

async function start(id: number, name: WorkerName, env: Env): Promise<void> {
  try {
    const unit = await startUnit(name, env, bus, { tracing: true });
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
  if (tracingStarted()) await shutdownTracing();
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
