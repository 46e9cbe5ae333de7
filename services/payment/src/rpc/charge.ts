import type { Payments } from "../payment/payment.service.js";
import type { Handler } from "./handler.js";
import { toProtoPayment } from "./mapping.js";
import { requireCurrency, requirePaymentMethod, requirePositiveAmount, requireText } from "./validation.js";

export function charge(payments: Payments): Handler<"charge"> {
  return async (req) => {
    const payment = await payments.charge({
      orderId: requireText("order_id", req.orderId),
      userId: requireText("user_id", req.userId),
      amountCents: requirePositiveAmount(req.amountCents),
      currency: requireCurrency(req.currency),
      paymentMethod: requirePaymentMethod(req.paymentMethod),
    });
    return { payment: toProtoPayment(payment) };
  };
}
