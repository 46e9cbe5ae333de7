import type { Payments } from "../payment/payment.service.js";
import type { Handler } from "./handler.js";

export function tokenizeCard(payments: Payments): Handler<"tokenizeCard"> {
  return async (req) => {
    const card = await payments.tokenizeCard(req.cardNumber);
    return { paymentMethod: card.paymentMethod, cardBrand: card.brand, cardLast4: card.last4 };
  };
}
