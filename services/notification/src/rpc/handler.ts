import type { ServiceHandlers } from "@shopmesh/platform";
import type { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";

/** The typed handler of one NotificationService method. */
export type Handler<K extends keyof ServiceHandlers<typeof NotificationService>> = ServiceHandlers<typeof NotificationService>[K];
