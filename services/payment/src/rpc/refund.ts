import type { Payments } from "../payment/payment.service.js";
import type { Handler } from "./handler.js";
import { toProtoPayment } from "./mapping.js";
import { requireText } from "./validation.js";

export function refund(payments: Payments): Handler<"refund"> {
  return async (req) => {
    const payment = await payments.refund(requireText("order_id", req.orderId), req.reason.trim().slice(0, 200));
    return { payment: toProtoPayment(payment) };
  };
}
