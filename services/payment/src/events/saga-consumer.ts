import { isMessage } from "@bufbuild/protobuf";
import {
  consumeClaimed,
  createEventRegistry,
  deadLetterVia,
  type Envelope,
  type EventBus,
  type Logger,
  type Subscription,
} from "@shopmesh/platform";
import { StockRejectedSchema, StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import type { Kysely } from "kysely";
import type { PaymentDb } from "../db/tables.js";
import type { Payments, RecordedSagaEvent, SagaEvent } from "../app/use-cases.js";

const registry = createEventRegistry([OrderPlacedSchema, StockReservedSchema, StockRejectedSchema]);
export const PAYMENT_GROUP = "payment";
/** The event types the payment service consumes. */
export const PAYMENT_EVENT_TYPES: readonly string[] = [OrderPlacedSchema, StockReservedSchema, StockRejectedSchema].map((s) => s.typeName);

function decode(event: Envelope): SagaEvent {
  const msg = registry.decode(event);
  if (isMessage(msg, OrderPlacedSchema)) {
    const { orderId, userId, totalCents, currency, paymentMethod } = msg;
    return { kind: "order-placed", intent: { orderId, userId, amountCents: totalCents, currency: currency || "EUR", paymentMethod } };
  }
  if (isMessage(msg, StockReservedSchema)) return { kind: "stock-reserved", orderId: msg.orderId };
  if (isMessage(msg, StockRejectedSchema)) return { kind: "stock-rejected", orderId: msg.orderId };
  throw new Error(`unexpected event type ${msg.$typeName}`);
}

/**
 * The payment's part of the checkout saga: OrderPlaced says what to charge, StockReserved
 * that it may be charged, StockRejected that it never will be. Each event is applied once
 * (inbox); the charge itself runs after that commit, keyed by order id, and is also resumed
 * by a redelivery or a restart when a crash interrupted it.
 */
export function subscribeSaga(bus: EventBus, db: Kysely<PaymentDb>, payments: Payments, logger: Logger): Subscription {
  return bus.subscribe(PAYMENT_GROUP, PAYMENT_EVENT_TYPES, async (event) => {
    let orderId: string | undefined;
    let recorded: RecordedSagaEvent | undefined;
    const result = await consumeClaimed(
      db,
      event,
      async () => {
        const decoded = decode(event);
        orderId = decoded.kind === "order-placed" ? decoded.intent.orderId : decoded.orderId;
        if (!orderId) throw new Error(`${event.type} without an order id`);
        recorded = await payments.recordSagaEvent(event, decoded);
        return recorded !== undefined;
      },
      // The inbox row, the checkout and a new payment are one statement.
      { logger, onDeadLetter: deadLetterVia(bus, PAYMENT_GROUP), transaction: false },
    );
    if (result === "handled" && recorded) await payments.settleRecorded(recorded);
    // Also on a duplicate: the first delivery may have committed and then crashed before charging.
    else await payments.settlePending(orderId ?? event.key);
  });
}
