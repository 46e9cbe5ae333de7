import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Orders } from "../order/order.service.js";
import { parsePageSize } from "../order/validation.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoOrder } from "./mapping.js";

export function listOrders(orders: Orders): Handler<"listOrders"> {
  return async (req, ctx) => {
    const userId = callerId(ctx);
    const pageSize = parsePageSize(req.pageSize, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const page = await orders.listOrders(userId, pageSize, req.pageToken);
    return { items: page.items.map(toProtoOrder), nextPageToken: page.nextPageToken };
  };
}
