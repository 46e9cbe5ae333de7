import type { Orders } from "../order/order.service.js";
import { parseCardNumber, parseIdempotencyKey } from "../order/validation.js";
import { toProtoStatus } from "../order/wire.js";
import { callerId, type Handler } from "./handler.js";

export function placeOrder(orders: Orders): Handler<"placeOrder"> {
  return async (req, ctx) => {
    const userId = callerId(ctx);
    const idempotencyKey = parseIdempotencyKey(req.idempotencyKey);
    const cardDigits = parseCardNumber("payment.card_number", req.payment?.cardNumber ?? "");
    const placed = await orders.placeOrder({ userId, idempotencyKey, cardDigits });
    return { orderId: placed.orderId, status: toProtoStatus(placed.status) };
  };
}
