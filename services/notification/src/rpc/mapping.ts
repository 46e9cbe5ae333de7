import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Channel,
  DeliveryStatus,
  NotificationKind,
  type NotificationSchema,
} from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import type { DeliveryStatus as Status, Notification, NotificationKind as Kind } from "../domain/notification.js";

const kinds: Record<Kind, NotificationKind> = {
  welcome: NotificationKind.WELCOME,
  order_paid: NotificationKind.ORDER_PAID,
  order_cancelled: NotificationKind.ORDER_CANCELLED,
  order_refunded: NotificationKind.ORDER_REFUNDED,
};

const statuses: Record<Status, DeliveryStatus> = {
  pending: DeliveryStatus.PENDING,
  sent: DeliveryStatus.SENT,
  captured: DeliveryStatus.CAPTURED,
  failed: DeliveryStatus.FAILED,
};

export function toProtoNotification(n: Notification): MessageInitShape<typeof NotificationSchema> {
  return {
    id: n.id,
    userId: n.userId,
    channel: Channel.EMAIL,
    recipient: n.recipient,
    subject: n.subject,
    body: n.body,
    kind: kinds[n.kind],
    sourceEventId: n.sourceEventId,
    orderId: n.orderId ?? "",
    status: statuses[n.status],
    failureReason: n.failureReason ?? "",
    createdAt: timestampFromDate(n.createdAt),
    ...(n.deliveredAt ? { deliveredAt: timestampFromDate(n.deliveredAt) } : {}),
  };
}
