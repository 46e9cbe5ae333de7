import { createEventRegistry, type Envelope, type EventBus, type Logger, type Subscription, subscribeInbox } from "@shopmesh/platform";
import { UserRegisteredSchema } from "@shopmesh/proto/shop/auth/v1/events_pb.js";
import { OrderCancelledSchema, OrderPaidSchema, OrderRefundedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import type { Kysely } from "kysely";
import type { NotificationDb } from "../db/tables.js";
import type { Notifications } from "../app/use-cases.js";
import type { Fact } from "../domain/notification.js";

/** The consumer group of the notification service. */
export const NOTIFICATION_GROUP = "notification";
const registry = createEventRegistry([UserRegisteredSchema, OrderPaidSchema, OrderCancelledSchema, OrderRefundedSchema]);
/** The event types the notification service consumes. */
export const NOTIFICATION_EVENT_TYPES: readonly string[] = registry.types;

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
    case OrderRefundedSchema.typeName: {
      const e = registry.decodeAs(OrderRefundedSchema, event);
      return {
        kind: "order_refunded",
        userId: e.userId,
        orderId: e.orderId,
        amountCents: e.amountCents,
        currency: e.currency,
        whole: e.status === OrderStatus.REFUNDED,
        lines: e.items.map((i) => `${i.quantity} × ${i.name || i.productId}`),
      };
    }
    default:
      // Throws UnknownEventTypeError: the bus only delivers the types subscribed to.
      registry.decode(event);
      throw new Error(`unexpected event type ${event.type}`);
  }
}

/**
 * Subscribes to UserRegistered, OrderPaid, OrderCancelled and OrderRefunded: each event is recorded once
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
  return subscribeInbox({
    bus,
    group: NOTIFICATION_GROUP,
    events: registry,
    db,
    logger,
    // The inbox row and the notification are one statement.
    transaction: false,
    claimed: async (_db, event) => (await notifications.record(event, factOf(event))) ?? false,
    after: async (consumed) => {
      if (consumed.result === "handled" && consumed.value.pending) await notifications.deliver(consumed.value.pending);
    },
  });
}
