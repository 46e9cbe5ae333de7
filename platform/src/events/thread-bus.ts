import type { MessagePort } from "node:worker_threads";
import { interruptibleSleep } from "./backoff.js";
import type { Envelope } from "./envelope.js";
import type { EventBus, EventHandler, Subscription } from "./event-bus.js";
import { createInProcessBus, type InProcessBus, type InProcessBusOptions } from "./in-process-bus.js";

/*
 * The in-process bus across worker threads. The hub (main thread) owns the one InProcessBus;
 * each worker reaches it through a MessagePort of its own. A publish is one message to the hub
 * and one answer; a delivery is one message to the worker and one answer. Envelopes cross by
 * structured clone (Date and Uint8Array survive it).
 */

/** An error as it crosses the port: rebuilt as an Error on the other side. */
interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
}

type ToHub =
  | { readonly kind: "publish"; readonly id: number; readonly events: readonly Envelope[] }
  | { readonly kind: "subscribe"; readonly sub: number; readonly group: string; readonly types: readonly string[] }
  | { readonly kind: "unsubscribe"; readonly id: number; readonly sub: number }
  /** Answered once the hub has taken everything sent before it. */
  | { readonly kind: "sync"; readonly id: number }
  /** Removes every subscription of the worker. */
  | { readonly kind: "close"; readonly id: number }
  | { readonly kind: "handled"; readonly delivery: number; readonly error?: WireError };

type ToWorker =
  | { readonly kind: "result"; readonly id: number; readonly error?: WireError }
  | { readonly kind: "deliver"; readonly delivery: number; readonly sub: number; readonly event: Envelope }
  | { readonly kind: "refused"; readonly sub: number; readonly error: WireError };

function toWire(err: unknown): WireError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: "Error", message: String(err) };
}

function fromWire(wire: WireError): Error {
  const err = new Error(wire.message);
  err.name = wire.name;
  if (wire.stack !== undefined) err.stack = wire.stack;
  return err;
}

/**
 * The envelope as it should cross: a payload that is a view into a larger buffer (a Buffer from
 * the pool, a bytea row) is copied, or the clone would carry the whole buffer.
 */
function portable(event: Envelope): Envelope {
  const { payload } = event;
  if (payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength) return event;
  return { ...event, payload: new Uint8Array(payload) };
}

/** The main thread's side: the in-process bus, which workers connected to it share. */
export interface ThreadBusHub extends InProcessBus {
  /**
   * Serves the worker at the other end of `port` (made by `createThreadBus` there). When the
   * port closes (the worker ended or closed its bus) or the returned function is called, the
   * worker's subscriptions are removed and the deliveries it has not answered fail, so that they
   * are dropped and their publishes reject rather than wait for it.
   */
  connect(port: MessagePort): () => void;
}

interface Connection {
  readonly port: MessagePort;
  readonly subscriptions: Map<number, Subscription>;
  /** Deliveries posted to the worker and not yet answered. */
  readonly deliveries: Map<number, { resolve(): void; reject(err: Error): void }>;
  nextDelivery: number;
  gone: boolean;
}

/**
 * The hub of the event bus of an embedded mesh whose services run in worker threads: an
 * in-process bus (see {@link createInProcessBus}: `held`, `release()`, per-key order per group,
 * dropped deliveries rejecting their publish) that workers publish to and subscribe on through
 * {@link ThreadBusHub.connect}. `close()` lets the queued events finish for `closeTimeoutMs`,
 * then disconnects every worker and closes the bus.
 */
export function createThreadBusHub(opts: InProcessBusOptions): ThreadBusHub {
  const bus = createInProcessBus(opts);
  const closeTimeoutMs = opts.closeTimeoutMs ?? 5_000;
  const connections = new Set<Connection>();
  let closing: Promise<void> | undefined;

  function disconnect(conn: Connection): void {
    if (conn.gone) return;
    conn.gone = true;
    connections.delete(conn);
    for (const subscription of conn.subscriptions.values()) void subscription.unsubscribe();
    conn.subscriptions.clear();
    const gone = new Error("the worker thread of this consumer is gone");
    for (const delivery of conn.deliveries.values()) delivery.reject(gone);
    conn.deliveries.clear();
    conn.port.close();
  }

  function send(conn: Connection, message: ToWorker): void {
    if (!conn.gone) conn.port.postMessage(message);
  }

  function subscribe(conn: Connection, sub: number, group: string, types: readonly string[]): void {
    const handler: EventHandler = (event) =>
      new Promise<void>((resolve, reject) => {
        if (conn.gone) {
          reject(new Error("the worker thread of this consumer is gone"));
          return;
        }
        const delivery = conn.nextDelivery++;
        conn.deliveries.set(delivery, { resolve, reject });
        conn.port.postMessage({ kind: "deliver", delivery, sub, event: portable(event) } satisfies ToWorker);
      });
    try {
      conn.subscriptions.set(sub, bus.subscribe(group, types, handler));
    } catch (err) {
      send(conn, { kind: "refused", sub, error: toWire(err) });
    }
  }

  function receive(conn: Connection, message: ToHub): void {
    switch (message.kind) {
      case "publish":
        bus.publish(message.events).then(
          () => send(conn, { kind: "result", id: message.id }),
          (err: unknown) => send(conn, { kind: "result", id: message.id, error: toWire(err) }),
        );
        return;
      case "handled": {
        const delivery = conn.deliveries.get(message.delivery);
        if (!delivery) return;
        conn.deliveries.delete(message.delivery);
        if (message.error) delivery.reject(fromWire(message.error));
        else delivery.resolve();
        return;
      }
      case "subscribe":
        subscribe(conn, message.sub, message.group, message.types);
        return;
      case "unsubscribe": {
        const subscription = conn.subscriptions.get(message.sub);
        conn.subscriptions.delete(message.sub);
        void subscription?.unsubscribe();
        send(conn, { kind: "result", id: message.id });
        return;
      }
      case "close":
        for (const subscription of conn.subscriptions.values()) void subscription.unsubscribe();
        conn.subscriptions.clear();
        send(conn, { kind: "result", id: message.id });
        return;
      case "sync":
        send(conn, { kind: "result", id: message.id });
        return;
      default: {
        const unknown: never = message;
        throw new Error(`unknown thread bus message ${JSON.stringify(unknown)}`);
      }
    }
  }

  return {
    resolvesWhen: "handled",
    publish: (events) => bus.publish(events),
    subscribe: (group, types, handler) => bus.subscribe(group, types, handler),
    release: () => bus.release(),
    drain: () => bus.drain(),
    connect(port) {
      const conn: Connection = { port, subscriptions: new Map(), deliveries: new Map(), nextDelivery: 1, gone: false };
      if (closing) {
        port.close();
        return () => {};
      }
      connections.add(conn);
      port.on("message", (message: ToHub) => receive(conn, message));
      port.once("close", () => disconnect(conn));
      return () => disconnect(conn);
    },
    close() {
      closing ??= (async () => {
        const timeout = interruptibleSleep(closeTimeoutMs);
        await Promise.race([bus.drain(), timeout.done]);
        timeout.wake();
        for (const conn of [...connections]) disconnect(conn);
        await bus.close();
      })();
      return closing;
    },
  };
}

/** A worker thread's side of a {@link ThreadBusHub}. */
export interface ThreadBus extends EventBus {
  readonly resolvesWhen: "handled";
  /**
   * Resolves once the hub has taken every subscription made before (a subscription is
   * asynchronous across threads); rejects when it refused one (another thread's handler has
   * that type in that group). Wait for it before telling the main thread the service is up, so
   * that a held hub is released only after every consumer is in place.
   */
  synced(): Promise<void>;
}

export interface ThreadBusOptions {
  /** How long `close()` waits for publishes and deliveries in progress; default 5 s. */
  closeTimeoutMs?: number;
}

interface Call {
  resolve(): void;
  reject(err: Error): void;
  /** A publish: work in progress that close waits for. */
  readonly publish: boolean;
}

/**
 * The event bus of a service running in a worker thread: the hub's in-process bus, reached over
 * `port` (the other end given to `hub.connect`). `publish` resolves or rejects as the hub's does,
 * once every subscribed group, in whichever thread, has handled the events; a handler here
 * runs for each delivery to one of its subscriptions, and its rejection makes the hub's bus
 * deliver the event again after its backoff. Like the in-process bus, it delivers one event at a
 * time per key and group. When the hub goes away (its port closes) the calls waiting for it
 * reject. `close()` refuses new publishes, lets the publishes and deliveries in progress finish
 * (for at most `closeTimeoutMs`), removes the worker's subscriptions at the hub, and closes the
 * port once the handlers still running are done; publishes not answered by then reject.
 */
export function createThreadBus(port: MessagePort, opts: ThreadBusOptions = {}): ThreadBus {
  const closeTimeoutMs = opts.closeTimeoutMs ?? 5_000;
  const handlers = new Map<number, { group: string; types: readonly string[]; handler: EventHandler }>();
  /** Types subscribed per group here: a second handler of a type is refused at once, as in process. */
  const taken = new Map<string, Set<string>>();
  const calls = new Map<number, Call>();
  let nextId = 1;
  let nextSub = 1;
  /** Work in progress: publishes waiting for the hub, handlers running here. */
  let publishes = 0;
  let handling = 0;
  let waiters: Array<{ until: () => boolean; resolve: () => void }> = [];
  let refused: Error | undefined;
  let publishing = true;
  let delivering = true;
  let gone = false;
  let closing: Promise<void> | undefined;

  const post = (message: ToHub) => port.postMessage(message);
  const progressed = () => {
    const waiting = waiters;
    waiters = [];
    for (const w of waiting) {
      if (w.until()) w.resolve();
      else waiters.push(w);
    }
  };
  const when = (until: () => boolean) => (until() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ until, resolve })));

  function call(message: ToHub & { id: number }): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const publish = message.kind === "publish";
      if (publish) publishes++;
      calls.set(message.id, { resolve, reject, publish });
      post(message);
    });
  }

  function settle(id: number, error: Error | undefined): void {
    const pending = calls.get(id);
    if (!pending) return;
    calls.delete(id);
    if (pending.publish) {
      publishes--;
      progressed();
    }
    if (error) pending.reject(error);
    else pending.resolve();
  }

  function forget(sub: number): void {
    const entry = handlers.get(sub);
    if (!entry) return;
    handlers.delete(sub);
    const types = taken.get(entry.group);
    for (const type of entry.types) types?.delete(type);
  }

  async function deliver(delivery: number, sub: number, event: Envelope): Promise<void> {
    const entry = delivering ? handlers.get(sub) : undefined;
    if (!entry) {
      post({ kind: "handled", delivery, error: { name: "Error", message: "unsubscribed before the delivery" } });
      return;
    }
    handling++;
    try {
      await entry.handler(event);
      post({ kind: "handled", delivery });
    } catch (err) {
      post({ kind: "handled", delivery, error: toWire(err) });
    } finally {
      handling--;
      progressed();
    }
  }

  port.on("message", (message: ToWorker) => {
    switch (message.kind) {
      case "result":
        settle(message.id, message.error && fromWire(message.error));
        return;
      case "deliver":
        void deliver(message.delivery, message.sub, message.event);
        return;
      case "refused":
        forget(message.sub);
        refused ??= fromWire(message.error);
        return;
      default: {
        const unknown: never = message;
        throw new Error(`unknown thread bus message ${JSON.stringify(unknown)}`);
      }
    }
  });
  port.once("close", () => {
    gone = true;
    publishing = false;
    const err = new Error("the event bus hub is gone");
    for (const id of [...calls.keys()]) settle(id, err);
  });

  return {
    resolvesWhen: "handled",

    publish(events) {
      if (!publishing) return Promise.reject(new Error(closing ? "the event bus is closed" : "the event bus hub is gone"));
      if (events.length === 0) return Promise.resolve();
      return call({ kind: "publish", id: nextId++, events: events.map(portable) });
    },

    subscribe(group, types, handler) {
      if (closing || gone) throw new Error("the event bus is closed");
      let groupTypes = taken.get(group);
      if (!groupTypes) {
        groupTypes = new Set();
        taken.set(group, groupTypes);
      }
      for (const type of types) if (groupTypes.has(type)) throw new Error(`group ${group} already has a handler for ${type}`);
      for (const type of types) groupTypes.add(type);
      const sub = nextSub++;
      const list = [...types];
      handlers.set(sub, { group, types: list, handler });
      post({ kind: "subscribe", sub, group, types: list });
      return {
        async unsubscribe() {
          if (!handlers.has(sub)) return;
          forget(sub);
          if (!gone) await call({ kind: "unsubscribe", id: nextId++, sub });
        },
      };
    },

    async synced() {
      if (gone) throw new Error("the event bus hub is gone");
      await call({ kind: "sync", id: nextId++ });
      const err = refused;
      refused = undefined;
      if (err) throw err;
    },

    close() {
      closing ??= (async () => {
        publishing = false;
        const timeout = interruptibleSleep(closeTimeoutMs);
        await Promise.race([when(() => publishes === 0 && handling === 0), timeout.done]);
        timeout.wake();
        if (!gone) await call({ kind: "close", id: nextId++ }).catch(() => undefined);
        delivering = false;
        for (const sub of [...handlers.keys()]) forget(sub);
        await when(() => handling === 0);
        const err = new Error("the event bus closed before the hub answered");
        for (const id of [...calls.keys()]) settle(id, err);
        port.close();
      })();
      return closing;
    },
  };
}
