import {
  consumeClaimed,
  createEventRegistry,
  deadLetterVia,
  type Envelope,
  type EventBus,
  type Logger,
  type Subscription,
} from "@shopmesh/platform";
import { UserRegisteredSchema } from "@shopmesh/proto/shop/auth/v1/events_pb.js";
import { OrderCancelledSchema, OrderPaidSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import type { Kysely } from "kysely";
import type { NotificationDb } from "../db/tables.js";
import type { Fact, Notification } from "../domain/notification.js";
import type { Notifications } from "../app/use-cases.js";

/** The consumer group of the notification service. */
export const NOTIFICATION_GROUP = "notification";
/** The event types the notification service consumes. */
export const NOTIFICATION_EVENT_TYPES: readonly string[] = [
  UserRegisteredSchema.typeName,
  OrderPaidSchema.typeName,
  OrderCancelledSchema.typeName,
];

const registry = createEventRegistry([UserRegisteredSchema, OrderPaidSchema, OrderCancelledSchema]);

/** The fact an event states, decoded from its payload. */
export function factOf(event: Envelope): Fact {
  switch (event.type) {
    case UserRegisteredSchema.typeName: {
      const e = registry.decodeAs(UserRegisteredSchema, event);
      return { kind: "welcome", userId: e.userId, email: e.email, name: e.name };
    }
    case OrderPaidSchema.typeName: {
      const e = registry.decodeAs(OrderPaidSchema, event);
      return { kind: "order_paid", userId: e.userId, orderId: e.orderId, totalCents: e.totalCents, currency: e.currency };
    }
    case OrderCancelledSchema.typeName: {
      const e = registry.decodeAs(OrderCancelledSchema, event);
      return {
        kind: "order_cancelled",
        userId: e.userId,
        orderId: e.orderId,
        totalCents: e.totalCents,
        currency: e.currency,
        reason: e.reason,
      };
    }
    default:
      // Throws UnknownEventTypeError: the bus only delivers the types subscribed to.
      registry.decode(event);
      throw new Error(`unexpected event type ${event.type}`);
  }
}

/**
 * Subscribes to UserRegistered, OrderPaid and OrderCancelled: each event is recorded once
 * (consumeClaimed: the inbox row and the PENDING notification are one statement), then delivered
 * outside the transaction, so a redelivered event is a duplicate and sends nothing.
 */
export function subscribeNotifications(opts: {
  bus: EventBus;
  db: Kysely<NotificationDb>;
  notifications: Notifications;
  logger: Logger;
}): Subscription {
  const { bus, db, notifications, logger } = opts;
  return bus.subscribe(NOTIFICATION_GROUP, NOTIFICATION_EVENT_TYPES, async (event) => {
    let pending: Notification | undefined;
    const result = await consumeClaimed(
      db,
      event,
      async () => {
        pending = undefined; // a retried attempt starts over: the previous one changed nothing
        const recorded = await notifications.record(event, factOf(event));
        pending = recorded?.pending;
        return recorded !== undefined;
      },
      // The inbox row and the notification are one statement.
      { logger, onDeadLetter: deadLetterVia(bus, NOTIFICATION_GROUP), transaction: false },
    );
    if (result === "handled" && pending) await notifications.deliver(pending);
  });
}
