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
   * Hands the events over, in order. Resolves once the bus holds them (queued in process;
   * acknowledged by the brokers on Kafka); rejects when any may not have been taken — the
   * caller publishes them all again.
   */
  publish(events: readonly Envelope[]): Promise<void>;
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
