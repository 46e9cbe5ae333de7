import { invalidArgument, unauthenticated } from "@shopmesh/platform";
import type { Notifications } from "../notification/notification.service.js";
import { decodePageToken, encodePageToken } from "../notification/page-token.js";
import type { Handler } from "./handler.js";
import { toProtoNotification } from "./mapping.js";

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

/** The caller's own notifications (ACCESS_USER: the requireUser interceptor sets the principal). */
export function listNotifications(notifications: Notifications): Handler<"listNotifications"> {
  return async (req, ctx) => {
    if (!ctx.principal) throw unauthenticated();
    if (req.pageSize < 0 || req.pageSize > MAX_PAGE_SIZE) throw invalidArgument("page_size", `must be 0..${MAX_PAGE_SIZE}`);
    const beforeId = decodePageToken(req.pageToken);
    const page = await notifications.list(ctx.principal.userId, req.pageSize || DEFAULT_PAGE_SIZE, beforeId);
    return {
      items: page.items.map(toProtoNotification),
      nextPageToken: page.nextBeforeId ? encodePageToken(page.nextBeforeId) : "",
    };
  };
}
