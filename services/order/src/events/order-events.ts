import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createEnvelope, type Envelope } from "@shopmesh/platform";
import {
  OrderCancelledSchema,
  OrderPaidSchema,
  OrderPlacedSchema,
  OrderRefundedSchema,
  OrderRefundRequestedSchema,
} from "@shopmesh/proto/shop/order/v1/events_pb.js";
import type { OrderItem, OrderStatus } from "../domain/order.js";
import { toProtoItem, toProtoStatus } from "../rpc/mapping.js";
import { CANCEL_REFUND_ID, CANCEL_REFUND_REASON } from "../domain/cancel.js";

/** The order's domain events, keyed by order id (ordering per order). */
const source = "order";

/** What every order event says of the order. */
export interface OrderFacts {
  readonly orderId: string;
  readonly userId: string;
  readonly items: readonly OrderItem[];
  readonly totalCents: number;
  readonly currency: string;
}

const common = (o: OrderFacts) => ({
  orderId: o.orderId,
  userId: o.userId,
  items: o.items.map(toProtoItem),
  totalCents: o.totalCents,
  currency: o.currency,
});

/** `paymentMethod` is a token from TokenizeCard (or empty), never a card number. */
export function orderPlaced(o: OrderFacts, paymentMethod: string, at: Date): Envelope {
  const message = create(OrderPlacedSchema, { ...common(o), paymentMethod, placedAt: timestampFromDate(at) });
  return createEnvelope(OrderPlacedSchema, message, { source, key: o.orderId, time: at });
}

export function orderPaid(o: OrderFacts, paymentId: string, at: Date): Envelope {
  const message = create(OrderPaidSchema, { ...common(o), paymentId, paidAt: timestampFromDate(at) });
  return createEnvelope(OrderPaidSchema, message, { source, key: o.orderId, time: at });
}

export function orderCancelled(o: OrderFacts, reason: string, previousStatus: OrderStatus, at: Date): Envelope {
  const message = create(OrderCancelledSchema, {
    ...common(o),
    reason,
    previousStatus: toProtoStatus(previousStatus),
    cancelledAt: timestampFromDate(at),
  });
  return createEnvelope(OrderCancelledSchema, message, { source, key: o.orderId, time: at });
}

/** What an OrderRefundRequested or OrderRefunded says of the refund. */
export interface RefundFacts {
  readonly refundId: string;
  /** The refunded units, priced. */
  readonly items: readonly OrderItem[];
  readonly amountCents: number;
  readonly restock: boolean;
  readonly reason: string;
}

export function orderRefundRequested(o: Omit<OrderFacts, "items" | "totalCents">, paymentId: string, r: RefundFacts, at: Date): Envelope {
  const message = create(OrderRefundRequestedSchema, {
    orderId: o.orderId,
    userId: o.userId,
    refundId: r.refundId,
    paymentId,
    items: r.items.map(toProtoItem),
    amountCents: r.amountCents,
    currency: o.currency,
    restock: r.restock,
    reason: r.reason,
    requestedAt: timestampFromDate(at),
  });
  return createEnvelope(OrderRefundRequestedSchema, message, { source, key: o.orderId, time: at });
}

export function orderRefunded(
  o: Omit<OrderFacts, "items" | "totalCents">,
  r: RefundFacts,
  status: OrderStatus,
  refundedCents: number,
  at: Date,
): Envelope {
  const message = create(OrderRefundedSchema, {
    orderId: o.orderId,
    userId: o.userId,
    refundId: r.refundId,
    items: r.items.map(toProtoItem),
    amountCents: r.amountCents,
    currency: o.currency,
    restock: r.restock,
    reason: r.reason,
    status: toProtoStatus(status),
    refundedCents,
    refundedAt: timestampFromDate(at),
  });
  return createEnvelope(OrderRefundedSchema, message, { source, key: o.orderId, time: at });
}

/**
 * The refund of all that is left of a cancelled order's payment (amount 0: the whole of it, the
 * order not knowing what a held or late payment took), under the order's one cancel refund id.
 */
export function cancelledChargeRefund(o: Omit<OrderFacts, "items" | "totalCents">, paymentId: string, at: Date): Envelope {
  return orderRefundRequested(
    o,
    paymentId,
    { refundId: CANCEL_REFUND_ID, items: [], amountCents: 0, restock: false, reason: CANCEL_REFUND_REASON },
    at,
  );
}
