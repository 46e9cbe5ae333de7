import type { Notifications } from "../app/use-cases.js";
import { MAX_ORDER_NOTIFICATIONS, parseListOrderNotifications } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoNotification } from "./mapping.js";

/** An order's notifications, for an operator (the call policy lets only operators in). */
export function listOrderNotifications(notifications: Notifications): Handler<"listOrderNotifications"> {
  return async (req) => {
    const { orderId } = parseListOrderNotifications(req);
    const items = await notifications.listForOrder(orderId, MAX_ORDER_NOTIFICATIONS);
    return { items: items.map(toProtoNotification) };
  };
}
