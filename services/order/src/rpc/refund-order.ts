import type { Orders } from "../app/use-cases.js";
import { parseRefundOrder } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoOrder } from "./mapping.js";

/** Operators (the call policy lets only them through): refunds a paid order, whole or by line. */
export function refundOrder(orders: Orders): Handler<"refundOrder"> {
  return async (req) => {
    return { order: toProtoOrder(await orders.refundOrder(parseRefundOrder(req))) };
  };
}
