import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type OrderItem as ProtoOrderItem,
  OrderItemSchema,
  type OrderRefund as ProtoRefund,
  OrderRefundSchema,
  OrderSchema,
  OrderStatus as ProtoStatus,
  type OrderStatusUpdate,
  OrderStatusUpdateSchema,
  type Order as ProtoOrder,
  type StatusTransition as ProtoTransition,
  StatusTransitionSchema,
} from "@shopmesh/proto/shop/order/v1/order_pb.js";
import type { Order, OrderItem, StatusOrNone, StatusTransition, StatusUpdate } from "../domain/order.js";
import type { Refund } from "../domain/order.js";

/** Protobuf forms of the order's values, shared by the RPCs and the events. */

const protoStatuses: Readonly<Record<StatusOrNone, ProtoStatus>> = {
  UNSPECIFIED: ProtoStatus.UNSPECIFIED,
  PENDING: ProtoStatus.PENDING,
  STOCK_RESERVED: ProtoStatus.STOCK_RESERVED,
  PAID: ProtoStatus.PAID,
  CANCELLED: ProtoStatus.CANCELLED,
  ON_HOLD: ProtoStatus.ON_HOLD,
  PARTIALLY_REFUNDED: ProtoStatus.PARTIALLY_REFUNDED,
  REFUNDED: ProtoStatus.REFUNDED,
};

export function toProtoStatus(status: StatusOrNone): ProtoStatus {
  return protoStatuses[status];
}

export function toProtoItem(item: OrderItem): ProtoOrderItem {
  return create(OrderItemSchema, {
    productId: item.productId,
    name: item.name,
    unitPriceCents: item.unitPriceCents,
    quantity: item.quantity,
    lineTotalCents: item.lineTotalCents,
  });
}

export function toProtoTransition(t: StatusTransition): ProtoTransition {
  return create(StatusTransitionSchema, {
    fromStatus: toProtoStatus(t.from),
    toStatus: toProtoStatus(t.to),
    at: timestampFromDate(t.at),
    reason: t.reason,
  });
}

export function toProtoOrder(o: Order): ProtoOrder {
  return create(OrderSchema, {
    id: o.id,
    userId: o.userId,
    email: o.email,
    items: o.items.map(toProtoItem),
    totalCents: o.totalCents,
    currency: o.currency,
    status: toProtoStatus(o.status),
    cancelReason: o.cancelReason ?? "",
    history: o.history.map(toProtoTransition),
    createdAt: timestampFromDate(o.createdAt),
    updatedAt: timestampFromDate(o.updatedAt),
    paymentId: o.paymentId ?? "",
    holdReason: o.holdReason ?? "",
    refundedCents: o.refundedCents,
    refunds: o.refunds.map(toProtoRefund),
  });
}

export function toProtoRefund(r: Refund): ProtoRefund {
  return create(OrderRefundSchema, {
    id: r.id,
    lines: r.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    amountCents: r.amountCents,
    restock: r.restock,
    reason: r.reason,
    completed: r.completed,
    requestedAt: timestampFromDate(r.requestedAt),
    refundedAt: r.refundedAt && timestampFromDate(r.refundedAt),
  });
}

export function toProtoUpdate(u: StatusUpdate): OrderStatusUpdate {
  return create(OrderStatusUpdateSchema, {
    orderId: u.orderId,
    status: toProtoStatus(u.status),
    transition: toProtoTransition(u.transition),
    cancelReason: u.cancelReason ?? "",
    paymentId: u.paymentId ?? "",
  });
}
