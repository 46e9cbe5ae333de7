import type { Orders } from "../app/use-cases.js";
import { parseListOrders } from "../domain/validation.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoOrder } from "./mapping.js";

export function listOrders(orders: Orders): Handler<"listOrders"> {
  return async (req, ctx) => {
    const userId = callerId(ctx);
    const { pageSize, after } = parseListOrders(req);
    const page = await orders.listOrders(userId, pageSize, after);
    return { items: page.items.map(toProtoOrder), nextPageToken: page.nextPageToken };
  };
}
