import { isMessage } from "@bufbuild/protobuf";
import { createEventRegistry, type Envelope, type EventBus, type Logger, type Subscription, subscribeInbox } from "@shopmesh/platform";
import { StockRejectedSchema, StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { OrderPlacedSchema, OrderRefundRequestedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import type { Kysely } from "kysely";
import type { PaymentDb } from "../db/tables.js";
import type { Payments, SagaEvent } from "../app/use-cases.js";

const registry = createEventRegistry([OrderPlacedSchema, StockReservedSchema, StockRejectedSchema, OrderRefundRequestedSchema]);
export const PAYMENT_GROUP = "payment";
/** The event types the payment service consumes. */
export const PAYMENT_EVENT_TYPES: readonly string[] = registry.types;

function decode(event: Envelope): SagaEvent {
  const msg = registry.decode(event);
  if (isMessage(msg, OrderPlacedSchema)) {
    const { orderId, userId, totalCents, currency, paymentMethod } = msg;
    return { kind: "order-placed", intent: { orderId, userId, amountCents: totalCents, currency: currency || "EUR", paymentMethod } };
  }
  if (isMessage(msg, StockReservedSchema)) return { kind: "stock-reserved", orderId: msg.orderId };
  if (isMessage(msg, StockRejectedSchema)) return { kind: "stock-rejected", orderId: msg.orderId };
  if (isMessage(msg, OrderRefundRequestedSchema)) {
    if (!msg.refundId) throw new Error(`${msg.$typeName} without a refund id`);
    const { orderId, refundId, reason } = msg;
    // 0: all that is left of the payment (the refund of a cancelled order's charge).
    const amountCents = msg.amountCents === 0 ? undefined : msg.amountCents;
    return { kind: "refund-requested", orderId, refund: { orderId, refundId, amountCents, reason } };
  }
  throw new Error(`unexpected event type ${msg.$typeName}`);
}

const orderIdIn = (saga: SagaEvent) => (saga.kind === "order-placed" ? saga.intent.orderId : saga.orderId);

/** The order an event is about; its key when it cannot be decoded. */
function orderIdOf(event: Envelope): string {
  try {
    return orderIdIn(decode(event));
  } catch {
    return event.key;
  }
}

/**
 * The payment's part of the checkout saga: OrderPlaced says what to charge, StockReserved
 * that it may be charged, StockRejected that it never will be. Each event is applied once
 * (inbox); the charge itself runs after that commit, keyed by order id, and is also resumed
 * by a redelivery or a restart when a crash interrupted it. OrderRefundRequested refunds the
 * order's payment by the amount asked for, once per refund id.
 */
export function subscribeSaga(bus: EventBus, db: Kysely<PaymentDb>, payments: Payments, logger: Logger): Subscription {
  return subscribeInbox({
    bus,
    group: PAYMENT_GROUP,
    events: registry,
    db,
    logger,
    // The inbox row, the checkout and a new payment are one statement.
    transaction: false,
    claimed: async (_db, event) => {
      const decoded = decode(event);
      if (!orderIdIn(decoded)) throw new Error(`${event.type} without an order id`);
      if (decoded.kind === "refund-requested") return (await payments.refundFromEvent(event, decoded.refund)) ?? false;
      return (await payments.recordSagaEvent(event, decoded)) ?? false;
    },
    after: async (consumed, event) => {
      if (consumed.result === "handled") await payments.settleRecorded(consumed.value);
      // Also on a duplicate: the first delivery may have committed and then crashed before charging.
      else await payments.settlePending(orderIdOf(event));
    },
  });
}
