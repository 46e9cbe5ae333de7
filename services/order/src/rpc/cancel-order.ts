import type { Orders } from "../app/use-cases.js";
import { parseCancelOrder } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoOrder } from "./mapping.js";

/** Operators (the call policy lets only them through): cancels an order that is not paid. */
export function cancelOrder(orders: Orders): Handler<"cancelOrder"> {
  return async (req) => {
    const { orderId, reason } = parseCancelOrder(req);
    return { order: toProtoOrder(await orders.cancelOrder(orderId, reason)) };
  };
}
