import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type OrderItem as ProtoOrderItem,
  OrderItemSchema,
  OrderStatus as ProtoStatus,
  type StatusTransition as ProtoTransition,
  StatusTransitionSchema,
} from "@shopmesh/proto/shop/order/v1/order_pb.js";
import type { OrderItem, OrderStatus, StatusOrNone, StatusTransition } from "./order.js";

/** Protobuf forms of the order's values, shared by the RPCs and the events. */

const protoStatuses: Readonly<Record<StatusOrNone, ProtoStatus>> = {
  UNSPECIFIED: ProtoStatus.UNSPECIFIED,
  PENDING: ProtoStatus.PENDING,
  STOCK_RESERVED: ProtoStatus.STOCK_RESERVED,
  PAID: ProtoStatus.PAID,
  CANCELLED: ProtoStatus.CANCELLED,
  ON_HOLD: ProtoStatus.ON_HOLD,
};

export function toProtoStatus(status: StatusOrNone): ProtoStatus {
  return protoStatuses[status];
}

/** A wire status as a domain one; undefined for UNSPECIFIED and values this build does not know. */
export function fromProtoStatus(status: ProtoStatus): OrderStatus | undefined {
  switch (status) {
    case ProtoStatus.PENDING:
      return "PENDING";
    case ProtoStatus.STOCK_RESERVED:
      return "STOCK_RESERVED";
    case ProtoStatus.PAID:
      return "PAID";
    case ProtoStatus.CANCELLED:
      return "CANCELLED";
    case ProtoStatus.ON_HOLD:
      return "ON_HOLD";
    default:
      return undefined;
  }
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
