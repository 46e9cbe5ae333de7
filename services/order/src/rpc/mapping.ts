import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type OrderStatusUpdate,
  OrderStatusUpdateSchema,
  type Order as ProtoOrder,
  OrderSchema,
} from "@shopmesh/proto/shop/order/v1/order_pb.js";
import type { Order, StatusUpdate } from "../order/order.js";
import { toProtoItem, toProtoStatus, toProtoTransition } from "../order/wire.js";

export function toProtoOrder(o: Order): ProtoOrder {
  return create(OrderSchema, {
    id: o.id,
    userId: o.userId,
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
