import type { Logger } from "../logger.js";
import { type Backoff, backoffDelay, interruptibleSleep } from "./backoff.js";
import type { Envelope } from "./envelope.js";
import type { EventBus, EventHandler, Subscription } from "./event-bus.js";

export interface InProcessBus extends EventBus {
  readonly resolvesWhen: "handled";
  /**
   * Starts delivering. A bus created with `held: true` keeps what is published until then, so
   * that every group of the process has subscribed before the first event goes out.
   */
  release(): void;
  /** Resolves when nothing is queued or being handled (for tests; handlers may keep retrying). */
  drain(): Promise<void>;
}

export interface InProcessBusOptions {
  logger: Logger;
  /** Redelivery delay after a handler fails; default 20 ms doubling to 2 s. */
  retry?: Backoff;
  /** How long `close()` lets queued events finish before dropping them; default 5 s. */
  closeTimeoutMs?: number;
  /** Holds published events until `release()`; default false (delivering at once). */
  held?: boolean;
}

/** One `publish` call: it resolves when every delivery it made has been handled. */
interface Call {
  remaining: number;
  dropped: number;
  resolve(): void;
  reject(err: Error): void;
}

interface Delivery {
  readonly event: Envelope;
  readonly call: Call;
}

interface Group {
  readonly name: string;
  readonly handlers: Map<string, EventHandler>;
  /** Per key, the deliveries waiting, the first being handled. A key is present while its worker runs. */
  readonly queues: Map<string, Delivery[]>;
}

function settled(call: Call, handled: boolean): void {
  if (!handled) call.dropped++;
  if (--call.remaining > 0) return;
  if (call.dropped === 0) call.resolve();
  else call.reject(new Error(`${call.dropped} deliveries dropped: a consumer stopped or the bus closed before handling them`));
}

/**
 * The embedded-mode bus: in memory, each group getting every event of its types once, one at a
 * time per key, and a failed delivery repeated after a backoff until it succeeds (consumers
 * dead-letter poison themselves, see `consumeOnce`). It keeps nothing across a crash, so
 * `publish` resolves only once every subscribed group has handled the events: an outbox row is
 * marked published after its consumers committed, and a row whose delivery a crash cut short
 * is published again at the next start, the inboxes making the repeat a no-op. A delivery that
 * is dropped (its group unsubscribed, the bus closed) rejects its `publish`.
 */
export function createInProcessBus({
  logger,
  retry = { initialMs: 20, maxMs: 2_000 },
  closeTimeoutMs = 5_000,
  held = false,
}: InProcessBusOptions): InProcessBus {
  const groups = new Map<string, Group>();
  let active = 0;
  let idle: Array<() => void> = [];
  let closed = false;
  let holding = held;
  let heldEvents: Array<{ events: readonly Envelope[]; call: Call }> = [];
  const sleeps = new Set<() => void>();

  const settle = () => {
    if (active > 0) return;
    for (const resolve of idle) resolve();
    idle = [];
  };

  async function work(group: Group, key: string, queue: Delivery[]): Promise<void> {
    try {
      for (let delivery = queue[0]; delivery !== undefined && !closed; delivery = queue[0]) {
        const { event } = delivery;
        let handled = false;
        for (let attempt = 1; !closed; attempt++) {
          const handler = group.handlers.get(event.type);
          if (!handler) break; // unsubscribed meanwhile
          try {
            await handler(event);
            handled = true;
            break;
          } catch (err) {
            const delayMs = Math.round(backoffDelay(attempt, retry));
            logger.warn(
              { err, group: group.name, eventId: event.id, type: event.type, attempt, delayMs },
              "event handler failed; redelivering",
            );
            const sleep = interruptibleSleep(delayMs);
            sleeps.add(sleep.wake);
            await sleep.done;
            sleeps.delete(sleep.wake);
          }
        }
        queue.shift();
        settled(delivery.call, handled);
      }
    } finally {
      // Closed with deliveries still queued: their publishes reject.
      for (const delivery of queue.splice(0)) settled(delivery.call, false);
      group.queues.delete(key);
      active--;
      settle();
    }
  }

  function enqueue(group: Group, delivery: Delivery): void {
    const queue = group.queues.get(delivery.event.key);
    if (queue) {
      queue.push(delivery);
      return;
    }
    const fresh = [delivery];
    group.queues.set(delivery.event.key, fresh);
    active++;
    void work(group, delivery.event.key, fresh);
  }

  /** Queues each event for every group that takes its type; the call settles when all are handled. */
  function dispatch(events: readonly Envelope[], call: Call): void {
    for (const event of events) {
      for (const group of groups.values()) {
        if (!group.handlers.has(event.type)) continue;
        // Handlers settle deliveries asynchronously, after the whole call has been counted.
        call.remaining++;
        enqueue(group, { event, call });
      }
    }
    if (call.remaining === 0) call.resolve();
  }

  return {
    resolvesWhen: "handled",

    publish(events) {
      if (closed) return Promise.reject(new Error("the event bus is closed"));
      return new Promise<void>((resolve, reject) => {
        const call: Call = { remaining: 0, dropped: 0, resolve, reject };
        if (holding) heldEvents.push({ events, call });
        else dispatch(events, call);
      });
    },

    subscribe(name, types, handler): Subscription {
      if (closed) throw new Error("the event bus is closed");
      let group = groups.get(name);
      if (!group) {
        group = { name, handlers: new Map(), queues: new Map() };
        groups.set(name, group);
      }
      for (const type of types) {
        if (group.handlers.has(type)) throw new Error(`group ${name} already has a handler for ${type}`);
      }
      for (const type of types) group.handlers.set(type, handler);
      const g = group;
      return {
        async unsubscribe() {
          for (const type of types) if (g.handlers.get(type) === handler) g.handlers.delete(type);
        },
      };
    },

    release() {
      if (!holding) return;
      holding = false;
      const waiting = heldEvents;
      heldEvents = [];
      for (const { events, call } of waiting) dispatch(events, call);
    },

    drain() {
      if (active === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },

    async close() {
      if (closed) return;
      const drained = this.drain();
      const timeout = interruptibleSleep(closeTimeoutMs);
      await Promise.race([drained, timeout.done]);
      timeout.wake();
      closed = true;
      for (const wake of sleeps) wake();
      const dropped = [...groups.values()].reduce((n, g) => n + [...g.queues.values()].reduce((m, q) => m + q.length, 0), 0);
      if (dropped > 0) logger.warn({ dropped }, "event bus closed with undelivered events: they are published again at the next start");
      for (const { call } of heldEvents.splice(0)) call.reject(new Error("the event bus closed before delivering"));
      await drained;
    },
  };
}
