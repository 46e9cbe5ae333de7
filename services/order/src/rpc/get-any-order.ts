import type { Orders } from "../app/use-cases.js";
import { parseGetAnyOrder } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoOrder } from "./mapping.js";

/** Operators (the call policy lets only them through): any user's order. */
export function getAnyOrder(orders: Orders): Handler<"getAnyOrder"> {
  return async (req) => {
    const { orderId } = parseGetAnyOrder(req);
    return { order: toProtoOrder(await orders.getAnyOrder(orderId)) };
  };
}
