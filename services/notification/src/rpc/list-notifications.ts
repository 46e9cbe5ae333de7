import { unauthenticated } from "@shopmesh/platform";
import type { Notifications } from "../app/use-cases.js";
import { notificationPages, parseListNotifications } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoNotification } from "./mapping.js";

/** The caller's own notifications (ACCESS_USER: the requireUser interceptor sets the principal). */
export function listNotifications(notifications: Notifications): Handler<"listNotifications"> {
  return async (req, ctx) => {
    if (!ctx.principal) throw unauthenticated();
    const { pageSize, beforeId } = parseListNotifications(req);
    const page = await notifications.list(ctx.principal.userId, pageSize, beforeId);
    return {
      items: page.items.map(toProtoNotification),
      nextPageToken: page.nextBeforeId ? notificationPages.encode({ id: page.nextBeforeId }) : "",
    };
  };
}
