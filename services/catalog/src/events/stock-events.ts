import { create } from "@bufbuild/protobuf";
import { type Envelope, createEnvelope } from "@shopmesh/platform";
import { StockRejectedSchema, StockReleasedSchema, StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import type { RejectionReason, StockItem, StockShortage } from "../domain/reservation.js";

/** The catalog's domain events, keyed by order id (ordering per order). */
const source = "catalog";

const items = (list: readonly StockItem[]) => list.map((it) => ({ productId: it.productId, quantity: it.quantity }));

export function stockReserved(orderId: string, reserved: readonly StockItem[]): Envelope {
  return createEnvelope(StockReservedSchema, create(StockReservedSchema, { orderId, items: items(reserved) }), { source, key: orderId });
}

export function stockRejected(orderId: string, shortages: readonly StockShortage[], reason: RejectionReason): Envelope {
  const message = create(StockRejectedSchema, { orderId, reason, shortages: shortages.map((s) => ({ ...s })) });
  return createEnvelope(StockRejectedSchema, message, { source, key: orderId });
}

export function stockReleased(orderId: string, released: readonly StockItem[], reason: string): Envelope {
  return createEnvelope(StockReleasedSchema, create(StockReleasedSchema, { orderId, items: items(released), reason }), {
    source,
    key: orderId,
  });
}
