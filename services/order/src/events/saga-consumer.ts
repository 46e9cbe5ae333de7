import { isMessage } from "@bufbuild/protobuf";
import { createEventRegistry, type Envelope, type EventBus, type Logger, type Subscription, subscribeInbox } from "@shopmesh/platform";
import { StockRejectedSchema, StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { PaymentFailedSchema, PaymentRefundedSchema, PaymentSucceededSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import type { Kysely } from "kysely";
import type { OrderDb } from "../db/tables.js";
import type { Orders } from "../app/use-cases.js";
import type { SagaEvent } from "../domain/saga.js";

const SCHEMAS = [StockReservedSchema, StockRejectedSchema, PaymentSucceededSchema, PaymentFailedSchema, PaymentRefundedSchema];
const registry = createEventRegistry(SCHEMAS);
export const ORDER_GROUP = "order";
/** The event types the order service consumes. */
export const ORDER_EVENT_TYPES: readonly string[] = registry.types;

function decode(event: Envelope): SagaEvent {
  const msg = registry.decode(event);
  let decoded: SagaEvent;
  if (isMessage(msg, StockReservedSchema)) decoded = { kind: "stock-reserved", orderId: msg.orderId };
  else if (isMessage(msg, StockRejectedSchema)) decoded = { kind: "stock-rejected", orderId: msg.orderId, reason: msg.reason };
  else if (isMessage(msg, PaymentSucceededSchema))
    decoded = {
      kind: "payment-succeeded",
      orderId: msg.orderId,
      paymentId: msg.paymentId,
      amountCents: msg.amountCents,
      currency: msg.currency,
    };
  else if (isMessage(msg, PaymentFailedSchema)) decoded = { kind: "payment-failed", orderId: msg.orderId, reason: msg.reason };
  else if (isMessage(msg, PaymentRefundedSchema))
    decoded = { kind: "payment-refunded", orderId: msg.orderId, refundId: msg.refundId, amountCents: msg.amountCents, reason: msg.reason };
  else throw new Error(`unexpected event type ${msg.$typeName}`);
  if (!decoded.orderId) throw new Error(`${event.type} ${event.id} without an order id`);
  return decoded;
}

/**
 * The order's part of the checkout saga: the catalog's StockReserved/StockRejected and the
 * payment's PaymentSucceeded/PaymentFailed move the order along its status machine. Each event
 * is applied once (inbox) in the transaction that records its transitions and the OrderPaid or
 * OrderCancelled it causes; watchers hear of the transitions once that transaction committed.
 * After checkout, the payment's PaymentRefunded completes an operator's refund: the order
 * becomes PARTIALLY_REFUNDED or REFUNDED and OrderRefunded is written.
 */
export function subscribeSaga(bus: EventBus, db: Kysely<OrderDb>, orders: Orders, logger: Logger): Subscription {
  return subscribeInbox({
    bus,
    group: ORDER_GROUP,
    events: registry,
    db,
    logger,
    // A transaction of the handler's own, unless the event is one statement.
    transaction: false,
    claimed: async (conn, event) => {
      const decoded = decode(event);
      const consumed =
        decoded.kind === "payment-refunded"
          ? await conn.transaction().execute((trx) => orders.consumeRefund(trx, event, decoded))
          : orders.appliesAlone(decoded)
            ? await orders.consumeAlone(conn, event, decoded)
            : await conn.transaction().execute((trx) => orders.consumeEvent(trx, event, decoded));
      return consumed ?? false;
    },
    after: (consumed) => {
      if (consumed.result === "handled") orders.announce(consumed.value);
    },
  });
}
