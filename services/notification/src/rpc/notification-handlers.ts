import type { ServiceHandlers } from "@shopmesh/platform";
import type { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import type { Notifications } from "../app/use-cases.js";
import { listNotifications } from "./list-notifications.js";
import { listOrderNotifications } from "./list-order-notifications.js";

/** Every NotificationService RPC, bound to the use cases. */
export function notificationHandlers(notifications: Notifications): ServiceHandlers<typeof NotificationService> {
  return {
    listNotifications: listNotifications(notifications),
    listOrderNotifications: listOrderNotifications(notifications),
  };
}
