import { isMessage } from "@bufbuild/protobuf";
import { createEventRegistry, type Envelope, type EventBus, type Logger, type Subscription, subscribeInbox } from "@shopmesh/platform";
import { OrderCancelledSchema, OrderPlacedSchema, OrderRefundedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { PaymentFailedSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import type { Kysely, Transaction } from "kysely";
import type { Catalog, StockChange } from "../app/use-cases.js";
import type { StockItem } from "../domain/reservation.js";
import { parseOrderId, parseReason, parseStockItems } from "../domain/validation.js";
import type { CatalogDb } from "../db/tables.js";

export const CATALOG_GROUP = "catalog";
/**
 * The release reason for PaymentFailed, whatever the payment's own reason ("declined",
 * "provider_unavailable", …): the stock goes back because the order will not be paid, and the
 * payment's reason stays with the payment. Constant, so StockReleased reads the same for
 * every failed payment.
 */
export const PAYMENT_FAILED_REASON = "payment_failed";
/** The release reason for an OrderCancelled that carries none. */
export const ORDER_CANCELLED_REASON = "order_cancelled";

/** The stock adjustments' reason for refunded units that came back: "refund_restock" and the order id. */
export const REFUND_RESTOCK_REASON = "refund_restock";

const SAGA_SCHEMAS = [OrderPlacedSchema, OrderCancelledSchema, PaymentFailedSchema, OrderRefundedSchema];
const registry = createEventRegistry(SAGA_SCHEMAS);
/** The event types the catalog service consumes. */
export const CATALOG_EVENT_TYPES: readonly string[] = registry.types;

type SagaEvent =
  | { readonly kind: "reserve"; readonly orderId: string; readonly items: readonly StockItem[] }
  | { readonly kind: "release"; readonly orderId: string; readonly reason: string }
  | { readonly kind: "restock"; readonly orderId: string; readonly items: readonly StockItem[] }
  | { readonly kind: "none" };

/** Decodes and validates like the RPCs do: a malformed event fails (and ends dead-lettered). */
function decode(event: Envelope): SagaEvent {
  const msg = registry.decode(event);
  if (isMessage(msg, OrderPlacedSchema)) {
    return { kind: "reserve", orderId: parseOrderId(msg.orderId), items: parseStockItems(msg.items) };
  }
  if (isMessage(msg, OrderCancelledSchema)) {
    return { kind: "release", orderId: parseOrderId(msg.orderId), reason: parseReason("reason", msg.reason, ORDER_CANCELLED_REASON) };
  }
  if (isMessage(msg, PaymentFailedSchema)) return { kind: "release", orderId: parseOrderId(msg.orderId), reason: PAYMENT_FAILED_REASON };
  if (isMessage(msg, OrderRefundedSchema)) {
    // Goods that did not come back stay sold.
    if (!msg.restock) return { kind: "none" };
    return { kind: "restock", orderId: parseOrderId(msg.orderId), items: parseStockItems(msg.items) };
  }
  throw new Error(`unexpected event type ${msg.$typeName}`);
}

const unchanged: StockChange<unknown> = { result: undefined, afterCommit() {}, afterUncertainCommit() {} };

function apply(catalog: Catalog, trx: Transaction<CatalogDb>, event: SagaEvent): Promise<StockChange<unknown>> {
  switch (event.kind) {
    case "restock":
      return catalog.restockIn(trx, event.orderId, event.items, `${REFUND_RESTOCK_REASON} ${event.orderId}`);
    case "none":
      return Promise.resolve(unchanged);
    case "reserve":
      return catalog.reserveStockIn(trx, event.orderId, event.items);
    case "release":
      // A release can overtake its OrderPlaced (PaymentFailed travels on another topic, a
      // dead-lettered OrderPlaced may be replayed late): the tombstone keeps that order from
      // holding stock afterwards.
      return catalog.releaseStockIn(trx, event.orderId, event.reason, { tombstone: true });
    default: {
      const never: never = event;
      throw new Error(`unknown saga event ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The catalog's part of the checkout saga: OrderPlaced reserves the order's items (all or
 * none, as ReserveStock does), OrderCancelled and PaymentFailed release what is still held,
 * and OrderRefunded with `restock` puts the refunded units back on sale (stock adjustments).
 * Each event is applied once (inbox): the stock change, its StockReserved/StockRejected/
 * StockReleased outbox row and the inbox record commit in one transaction, and only then are
 * the new stock levels published to watchers. A change made by an attempt whose transaction
 * then failed may or may not have committed (a later attempt finding the event consumed says
 * it did, but its levels were never published): its cached levels are dropped.
 */
export function subscribeSaga(bus: EventBus, db: Kysely<CatalogDb>, catalog: Catalog, logger: Logger): Subscription {
  return subscribeInbox({
    bus,
    group: CATALOG_GROUP,
    events: registry,
    db,
    logger,
    handle: (trx, event) => apply(catalog, trx, decode(event)),
    onUncertainCommit: (change) => change.afterUncertainCommit(),
    after: (consumed) => {
      if (consumed.result === "handled") consumed.value.afterCommit();
    },
  });
}
