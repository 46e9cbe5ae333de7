import type { Orders } from "../app/use-cases.js";
import { parseListAllOrders } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoOrder } from "./mapping.js";

/** Internal (no edge rule): operations and reconciliation see every user's orders. */
export function listAllOrders(orders: Orders): Handler<"listAllOrders"> {
  return async (req) => {
    const page = await orders.listAllOrders(parseListAllOrders(req));
    return { items: page.items.map(toProtoOrder), nextPageToken: page.nextPageToken };
  };
}
