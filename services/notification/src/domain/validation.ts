import { invalidArgument, keysetToken, violations } from "@shopmesh/platform";

/**
 * Every request rule of NotificationService. Each RPC has one `parseX(req)` that names every
 * bad field in one INVALID_ARGUMENT (one field violation each, proto field names) and returns
 * the narrowed request; handlers call it and check nothing themselves.
 */

/** Page tokens of ListNotifications: the last id of the previous page (ids are UUIDv7, ordered by time). */
export const notificationPages = keysetToken({ id: "uuid" });

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** A page size: 0 means the default; otherwise 1..{@link MAX_PAGE_SIZE}. */
export function parsePageSize(raw: number): number {
  if (!Number.isInteger(raw) || raw < 0 || raw > MAX_PAGE_SIZE) throw invalidArgument("page_size", `must be 0..${MAX_PAGE_SIZE}`);
  return raw === 0 ? DEFAULT_PAGE_SIZE : raw;
}

/** ListNotifications; the page token is decoded here so that its violation joins the others. */
export function parseListNotifications(req: { pageSize: number; pageToken: string }): { pageSize: number; beforeId: string | undefined } {
  const v = violations();
  const pageSize = v.parse(() => parsePageSize(req.pageSize), DEFAULT_PAGE_SIZE);
  const beforeId = v.parse(() => notificationPages.decode(req.pageToken)?.id, undefined);
  v.throwIfAny();
  return { pageSize, beforeId };
}

/** The most notifications ListOrderNotifications answers with. */
export const MAX_ORDER_NOTIFICATIONS = 100;

/** ListOrderNotifications: an order id, 1..128 characters without spaces (order ids are text here). */
export function parseListOrderNotifications(req: { orderId: string }): { orderId: string } {
  const v = violations();
  const orderId = v.parse(() => {
    if (req.orderId === "") throw invalidArgument("order_id", "is required");
    if (req.orderId.length > 128 || /\s/.test(req.orderId)) throw invalidArgument("order_id", "must be 1 to 128 characters without spaces");
    return req.orderId;
  }, "");
  v.throwIfAny();
  return { orderId };
}
