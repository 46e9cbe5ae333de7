import type { Kysely, Transaction } from "kysely";
import type { Logger } from "../logger.js";
import { currentDelivery } from "./delivery.js";
import type { Envelope, EventRegistry } from "./envelope.js";
import { deadLetterVia, type EventBus, type Subscription } from "./event-bus.js";
import { type Consumed, consumeClaimed, consumeOnce } from "./inbox.js";
import { markInboxHandler } from "./inbox-fault.js";

interface InboxConsumerBase<DB, T> {
  readonly bus: EventBus;
  /** The consumer group (the service's name); events it gives up on also go to `bus.deadLetter` with it. */
  readonly group: string;
  /** The events consumed: their types are subscribed to, and their contracts name the key that log lines carry. */
  readonly events: EventRegistry;
  /** The consuming service's schema handle: its inbox and dead letters. */
  readonly db: Kysely<DB>;
  readonly logger: Logger;
  /**
   * What follows, outside the inbox transaction, once consuming came to `consumed` (with the
   * effect's value when handled now): announcing the change, delivering, charging.
   */
  readonly after?: (consumed: Consumed<T>, event: Envelope) => Promise<void> | void;
}

/** The effect in the transaction that records the event in the inbox: {@link consumeOnce}. */
interface InTransaction<DB, T> {
  readonly handle: (trx: Transaction<DB>, event: Envelope) => Promise<T>;
  /** See `onUncertainCommit` of {@link consumeOnce}. */
  readonly onUncertainCommit?: (value: T) => void;
}

/** The effect records the event in the inbox itself, and resolves to false for a duplicate: {@link consumeClaimed}. */
interface Claimed<DB, T> {
  readonly claimed: (db: Kysely<DB>, event: Envelope) => Promise<T | false>;
  /** See `transaction` of {@link consumeClaimed}: false when the effect is one statement or opens its own transaction. */
  readonly transaction?: boolean;
}

export type InboxConsumer<DB, T> = InboxConsumerBase<DB, T> & (InTransaction<DB, T> | Claimed<DB, T>);

/**
 * Subscribes a service's consumer to the events of `events`: each takes effect once (the inbox),
 * is retried and in the end dead-lettered as {@link consumeOnce} says, then `after` runs with
 * what it came to.
 *
 * ```ts
 * subscribeInbox({ bus, group: "cart", events: registry, db, logger, claimed: (trx, event) => carts.removeOrdered(trx, event) });
 * ```
 */
export function subscribeInbox<DB, T>(consumer: InboxConsumer<DB, T>): Subscription {
  const { bus, group, events, db, logger, after } = consumer;
  const onDeadLetter = deadLetterVia(bus, group);
  const handler = async (event: Envelope) => {
    const delivery = currentDelivery();
    if (delivery?.event.id === event.id) delivery.keyField = events.keyField(event.type);
    const consumed =
      "handle" in consumer
        ? await consumeOnce(db, event, (trx) => consumer.handle(trx, event), {
            logger,
            group,
            onDeadLetter,
            onUncertainCommit: consumer.onUncertainCommit,
          })
        : await consumeClaimed(db, event, (conn) => consumer.claimed(conn, event), {
            logger,
            group,
            onDeadLetter,
            transaction: consumer.transaction,
          });
    await after?.(consumed, event);
  };
  return bus.subscribe(group, events.types, markInboxHandler(handler));
}
