import type { Envelope } from "./envelope.js";

/** Handles one event; a rejection means "not handled": the bus delivers it again later. */
export type EventHandler = (event: Envelope) => Promise<void>;

export interface Subscription {
  /** Stops deliveries to this handler after the one in progress. */
  unsubscribe(): Promise<void>;
}

/**
 * Where outbox relays publish and consumers subscribe: the in-process bus in embedded mode,
 * Kafka in distributed mode. Delivery is at least once and in order per {@link Envelope.key}
 * within a group; consumers make effects exactly-once with `consumeOnce`.
 */
export interface EventBus {
  /**
   * Hands the events over, in order. Resolves once they are safe from a crash, as
   * {@link resolvesWhen} says; rejects when any may not have been taken or delivered — the
   * caller publishes them all again.
   */
  publish(events: readonly Envelope[]): Promise<void>;
  /**
   * What a resolved `publish` stands for. "stored" (the default): the bus keeps the events
   * durably and delivers them itself (Kafka: the brokers acknowledged them). "handled": every
   * group subscribed to their types has handled them, its effect and inbox row committed (the
   * in-process bus, which keeps nothing across a crash). Such a bus takes the events of
   * overlapping calls in call order, so a relay may publish a batch before the one before it has
   * resolved, and must count a row delivered only once its call has resolved.
   */
  readonly resolvesWhen?: "stored" | "handled";
  /**
   * Delivers every event of `types` once to the consumer group `group` (one per service),
   * one at a time per key. A type can have only one handler in a group.
   */
  subscribe(group: string, types: readonly string[], handler: EventHandler): Subscription;
  /**
   * Sets aside an event a consumer gave up on where operators look for such events (on Kafka,
   * the dead-letter topic `<topic>.dlq`, with the error and `group` in headers). Optional: a
   * bus without such a place (the in-process bus) leaves it out, and the consumer's
   * `dead_letters` table is the record. See {@link deadLetterVia}.
   */
  deadLetter?(event: Envelope, error: unknown, group?: string): Promise<void>;
  /** Stops publishing and delivering; resolves when the handlers in progress are done. */
  close(): Promise<void>;
}

/**
 * `consumeOnce`'s `onDeadLetter` for a consumer of `group`: also hands each event it
 * dead-letters to `bus.deadLetter`, when the bus has one.
 *
 * ```ts
 * await consumeOnce(db, event, handle, { logger, onDeadLetter: deadLetterVia(bus, "payment") });
 * ```
 */
export function deadLetterVia(bus: EventBus, group: string): (event: Envelope, error: unknown) => Promise<void> {
  return async (event, error) => {
    await bus.deadLetter?.(event, error, group);
  };
}

/**
 * `bus` with every handler subscribed through it replaced by `wrap(group, handler)`; publishing
 * and the rest go to `bus` as they are.
 */
export function wrapHandlers(bus: EventBus, wrap: (group: string, handler: EventHandler) => EventHandler): EventBus {
  return {
    publish: (events) => bus.publish(events),
    ...(bus.resolvesWhen ? { resolvesWhen: bus.resolvesWhen } : {}),
    subscribe: (group, types, handler) => bus.subscribe(group, types, wrap(group, handler)),
    ...(bus.deadLetter ? { deadLetter: bus.deadLetter.bind(bus) } : {}),
    close: () => bus.close(),
  };
}
