import type { Payments } from "../app/use-cases.js";
import type { Handler } from "./handler.js";
import { toProtoPayment } from "./mapping.js";
import { parseRefund } from "../domain/validation.js";

export function refund(payments: Payments): Handler<"refund"> {
  return async (req) => {
    const { orderId, reason } = parseRefund(req);
    return { payment: toProtoPayment(await payments.refund(orderId, reason)) };
  };
}
