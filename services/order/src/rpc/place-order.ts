import type { Orders } from "../app/use-cases.js";
import { parsePlaceOrder } from "../domain/validation.js";
import { toProtoStatus } from "./mapping.js";
import { callerId, type Handler } from "./handler.js";

export function placeOrder(orders: Orders): Handler<"placeOrder"> {
  return async (req, ctx) => {
    const userId = callerId(ctx);
    const { idempotencyKey, cardDigits } = parsePlaceOrder(req);
    const placed = await orders.placeOrder({ userId, email: ctx.principal?.email ?? "", idempotencyKey, cardDigits });
    return { orderId: placed.orderId, status: toProtoStatus(placed.status) };
  };
}
