import { MessageChannel, Worker } from "node:worker_threads";
import { afterEach, expect, test } from "vitest";
import { createLogger } from "../logger.js";
import { type Envelope, uuidv7 } from "./envelope.js";
import { createThreadBus, createThreadBusHub, type ThreadBusHub } from "./thread-bus.js";

const logger = createLogger({ level: "silent" });
const TYPE = "test.v1.Note";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const event = (key: string, text: string): Envelope => ({
  id: uuidv7(),
  type: TYPE,
  source: "test",
  time: new Date(),
  key,
  payload: new TextEncoder().encode(text),
});
/** A worker's reports come on its own port, not the one that answered the publish: give them a moment. */
const reportsArrived = () => sleep(10);

/**
 * A worker thread with a thread bus on the hub, driven by commands: its handlers are the source
 * of `(event, text, ctx) => Promise<void>` functions, where `ctx` has `sleep(ms)`, `report(value)`
 * (to the test) and `gate(name)` (resolves when the test opens it). A worker needs JavaScript: it
 * loads the bus from this package's dist/ (built by `tsc -b` before the tests).
 */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const gates = new Map();
const gateOf = (name) => {
  let g = gates.get(name);
  if (!g) {
    let open;
    const opened = new Promise((resolve) => { open = resolve; });
    g = { opened, open };
    gates.set(name, g);
  }
  return g;
};
const ctx = { sleep, report: (value) => parentPort.postMessage({ report: value }), gate: (name) => gateOf(name).opened };
import(workerData.busUrl).then(({ createThreadBus }) => {
  const bus = createThreadBus(workerData.port, { closeTimeoutMs: 200 });
  const subscriptions = new Map();
  parentPort.on("message", async (cmd) => {
    try {
      switch (cmd.op) {
        case "subscribe": {
          const handle = (0, eval)(cmd.handler);
          subscriptions.set(cmd.group, bus.subscribe(cmd.group, cmd.types, (e) => handle(e, new TextDecoder().decode(e.payload), ctx)));
          await bus.synced();
          break;
        }
        case "publish": await bus.publish(cmd.events); break;
        case "open": gateOf(cmd.name).open(); break;
        case "unsubscribe": await subscriptions.get(cmd.group).unsubscribe(); break;
        case "close": await bus.close(); break;
      }
      parentPort.postMessage({ id: cmd.id });
    } catch (err) {
      parentPort.postMessage({ id: cmd.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  parentPort.postMessage({ ready: true });
});
`;
const busUrl = new URL("../../dist/events/thread-bus.js", import.meta.url).href;

interface TestWorker {
  readonly worker: Worker;
  readonly reports: unknown[];
  /** Runs a command in the worker; rejects with the worker's error message. */
  run(cmd: Record<string, unknown>): Promise<void>;
  subscribe(group: string, handler: string, types?: string[]): Promise<void>;
  publish(events: Envelope[]): Promise<void>;
  open(gate: string): Promise<void>;
}

const workers: Worker[] = [];
let hub: ThreadBusHub;

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
  await hub.close();
});

async function startWorker(): Promise<TestWorker> {
  const { port1, port2 } = new MessageChannel();
  hub.connect(port1);
  const worker = new Worker(workerSource, { eval: true, workerData: { port: port2, busUrl }, transferList: [port2] });
  workers.push(worker);
  const reports: unknown[] = [];
  const waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();
  let nextId = 1;
  await new Promise<void>((resolve, reject) => {
    worker.once("error", reject);
    worker.on("message", (m: { ready?: true; report?: unknown; id?: number; error?: string }) => {
      if (m.ready) resolve();
      else if ("report" in m) reports.push(m.report);
      else if (m.id !== undefined) {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.error !== undefined) w?.reject(new Error(m.error));
        else w?.resolve();
      }
    });
  });
  const run = (cmd: Record<string, unknown>) =>
    new Promise<void>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...cmd, id });
    });
  return {
    worker,
    reports,
    run,
    subscribe: (group, handler, types = [TYPE]) => run({ op: "subscribe", group, handler, types }),
    publish: (events) => run({ op: "publish", events }),
    open: (gate) => run({ op: "open", name: gate }),
  };
}

test("events published in one thread reach a group in another in order per key, and publish resolves once they are handled", async () => {
  hub = createThreadBusHub({ logger });
  const producer = await startWorker();
  const consumer = await startWorker();
  // Earlier events of a key take longer: any reordering would show.
  await consumer.subscribe("g", `async (e, text, ctx) => { await ctx.sleep(text.endsWith("1") ? 15 : 1); ctx.report(text); }`);
  await producer.publish([event("a", "a1"), event("b", "b1"), event("a", "a2"), event("a", "a3"), event("b", "b2")]);
  await reportsArrived();
  expect(consumer.reports).toHaveLength(5);
  expect(consumer.reports.filter((v) => String(v).startsWith("a"))).toEqual(["a1", "a2", "a3"]);
  expect(consumer.reports.filter((v) => String(v).startsWith("b"))).toEqual(["b1", "b2"]);
});

test("envelopes cross threads whole: id, type, source, key, time as a Date, payload bytes, traceparent", async () => {
  hub = createThreadBusHub({ logger });
  const consumer = await startWorker();
  await consumer.subscribe(
    "g",
    `async (e, text, ctx) => ctx.report({ ...e, isDate: e.time instanceof Date, isBytes: e.payload instanceof Uint8Array, text })`,
  );
  // A payload that is a view into a larger buffer, as a Buffer from the pool is.
  const big = new Uint8Array(64).fill(7);
  big.set(new TextEncoder().encode("hello"), 10);
  const sent = { ...event("k", ""), payload: big.subarray(10, 15), traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
  await hub.publish([sent]);
  await reportsArrived();
  const [got] = consumer.reports as Array<Envelope & { isDate: boolean; isBytes: boolean; text: string }>;
  expect(got).toMatchObject({
    id: sent.id,
    type: TYPE,
    source: "test",
    key: "k",
    traceparent: sent.traceparent,
    isDate: true,
    isBytes: true,
  });
  expect(got?.text).toBe("hello");
  expect(got?.time.getTime()).toBe(sent.time.getTime());
  expect(got?.payload.byteLength).toBe(5);
});

test("a publish resolves only after the handler in the other thread finished, and overlapping publishes keep their order per key", async () => {
  hub = createThreadBusHub({ logger });
  const producer = await startWorker();
  const fast = await startWorker();
  const slow = await startWorker();
  await fast.subscribe("fast", `async (e, text, ctx) => ctx.report(text)`);
  await slow.subscribe("slow", `async (e, text, ctx) => { if (text === "1") await ctx.gate("first"); ctx.report(text); }`);
  let firstDone = false;
  const first = producer.publish([event("k", "1")]).then(() => {
    firstDone = true;
  });
  const second = producer.publish([event("k", "2")]);
  await sleep(50);
  expect(fast.reports).toEqual(["1", "2"]);
  expect(slow.reports).toEqual([]);
  expect(firstDone).toBe(false);
  await slow.open("first");
  await Promise.all([first, second]);
  await reportsArrived();
  expect(slow.reports).toEqual(["1", "2"]);
});

test("a handler failing in a worker gets the event again after the hub's backoff, and later events of the key wait", async () => {
  hub = createThreadBusHub({ logger, retry: { initialMs: 2, maxMs: 10 } });
  const consumer = await startWorker();
  await consumer.subscribe(
    "g",
    `(() => { let failures = 3; return async (e, text, ctx) => {
      if (text === "1" && failures-- > 0) { ctx.report("fail"); throw new Error("database away"); }
      ctx.report(text);
    }; })()`,
  );
  await hub.publish([event("k", "1"), event("k", "2")]);
  await reportsArrived();
  expect(consumer.reports).toEqual(["fail", "fail", "fail", "1", "2"]);
});

test("a worker terminated mid-delivery has its subscriptions removed: the publish rejects instead of waiting", async () => {
  hub = createThreadBusHub({ logger, retry: { initialMs: 5, maxMs: 5 } });
  const consumer = await startWorker();
  await consumer.subscribe("g", `async (e, text, ctx) => { ctx.report(text); await ctx.gate("never"); }`);
  const published = hub.publish([event("k", "1"), event("k", "2")]);
  const outcome = published.then(
    () => "resolved",
    (err: Error) => err.message,
  );
  await sleep(30);
  expect(consumer.reports).toEqual(["1"]);
  await consumer.worker.terminate();
  expect(await outcome).toMatch(/dropped/);
  // Events published after it went are delivered to no one: nothing waits for it.
  await hub.publish([event("k", "3")]);
});

test("a held hub delivers nothing to the workers until released", async () => {
  hub = createThreadBusHub({ logger, held: true });
  const producer = await startWorker();
  const consumer = await startWorker();
  let done = false;
  const published = producer.publish([event("k", "1")]).then(() => {
    done = true;
  });
  // Subscribed after the publish: a held hub still delivers to it.
  await consumer.subscribe("late", `async (e, text, ctx) => ctx.report(text)`);
  await sleep(20);
  expect(consumer.reports).toEqual([]);
  expect(done).toBe(false);
  hub.release();
  await published;
  await reportsArrived();
  expect(consumer.reports).toEqual(["1"]);
});

test("a group's type can have one handler across threads: the second subscription is refused", async () => {
  hub = createThreadBusHub({ logger });
  const first = await startWorker();
  const second = await startWorker();
  await first.subscribe("g", `async (e, text, ctx) => ctx.report(text)`);
  await expect(second.subscribe("g", `async (e, text, ctx) => ctx.report(text)`)).rejects.toThrow(/already has a handler/);
  await expect(first.subscribe("g", `async () => {}`)).rejects.toThrow(/already has a handler/);
  await hub.publish([event("k", "1")]);
  await reportsArrived();
  expect(first.reports).toEqual(["1"]);
  expect(second.reports).toEqual([]);
});

test("after unsubscribe or close a worker gets no more events, and a closed worker bus refuses to publish", async () => {
  hub = createThreadBusHub({ logger });
  const a = await startWorker();
  const b = await startWorker();
  await a.subscribe("a", `async (e, text, ctx) => ctx.report(text)`);
  await b.subscribe("b", `async (e, text, ctx) => ctx.report(text)`);
  await hub.publish([event("k", "1")]);
  await a.run({ op: "unsubscribe", group: "a" });
  await b.run({ op: "close" });
  await hub.publish([event("k", "2")]);
  await reportsArrived();
  expect(a.reports).toEqual(["1"]);
  expect(b.reports).toEqual(["1"]);
  await expect(b.publish([event("k", "3")])).rejects.toThrow(/closed/);
});

test("when the hub's end of the port closes, the worker's calls waiting for it reject", async () => {
  hub = createThreadBusHub({ logger });
  const { port1, port2 } = new MessageChannel();
  // A hub that never answers: the bus on port2 waits until port1 closes.
  const bus = createThreadBus(port2);
  const published = bus.publish([event("k", "1")]);
  const synced = bus.synced();
  port1.close();
  await expect(published).rejects.toThrow(/hub is gone/);
  await expect(synced).rejects.toThrow(/hub is gone/);
  await expect(bus.publish([event("k", "2")])).rejects.toThrow(/hub is gone/);
});
