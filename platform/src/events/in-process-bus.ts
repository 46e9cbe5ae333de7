import type { Logger } from "../logger.js";
import { type Backoff, backoffDelay, interruptibleSleep } from "./backoff.js";
import type { Envelope } from "./envelope.js";
import type { EventBus, EventHandler, Subscription } from "./event-bus.js";

export interface InProcessBus extends EventBus {
  /** Resolves when nothing is queued or being handled (for tests; handlers may keep retrying). */
  drain(): Promise<void>;
}

export interface InProcessBusOptions {
  logger: Logger;
  /** Redelivery delay after a handler fails; default 20 ms doubling to 2 s. */
  retry?: Backoff;
  /** How long `close()` lets queued events finish before dropping them; default 5 s. */
  closeTimeoutMs?: number;
}

interface Group {
  readonly name: string;
  readonly handlers: Map<string, EventHandler>;
  /** Per key, the events waiting, the first being handled. A key is present while its worker runs. */
  readonly queues: Map<string, Envelope[]>;
}

/**
 * The embedded-mode bus: in memory, asynchronous (`publish` returns once queued), each group
 * getting every event of its types once, one at a time per key, and a failed delivery
 * repeated after a backoff until it succeeds (consumers dead-letter poison themselves, see
 * `consumeOnce`). Not durable: events queued when the process dies are lost, as their
 * outbox rows are already marked published.
 */
export function createInProcessBus({
  logger,
  retry = { initialMs: 20, maxMs: 2_000 },
  closeTimeoutMs = 5_000,
}: InProcessBusOptions): InProcessBus {
  const groups = new Map<string, Group>();
  let active = 0;
  let idle: Array<() => void> = [];
  let closed = false;
  const sleeps = new Set<() => void>();

  const settle = () => {
    if (active > 0) return;
    for (const resolve of idle) resolve();
    idle = [];
  };

  async function work(group: Group, key: string, queue: Envelope[]): Promise<void> {
    try {
      for (let event = queue[0]; event !== undefined && !closed; event = queue[0]) {
        for (let attempt = 1; !closed; attempt++) {
          const handler = group.handlers.get(event.type);
          if (!handler) break; // unsubscribed meanwhile
          try {
            await handler(event);
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
      }
    } finally {
      group.queues.delete(key);
      active--;
      settle();
    }
  }

  function enqueue(group: Group, event: Envelope): void {
    const queue = group.queues.get(event.key);
    if (queue) {
      queue.push(event);
      return;
    }
    const fresh = [event];
    group.queues.set(event.key, fresh);
    active++;
    void work(group, event.key, fresh);
  }

  return {
    async publish(events) {
      if (closed) throw new Error("the event bus is closed");
      for (const event of events) {
        for (const group of groups.values()) if (group.handlers.has(event.type)) enqueue(group, event);
      }
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
      if (dropped > 0) logger.error({ dropped }, "event bus closed with undelivered events");
      await drained;
    },
  };
}
