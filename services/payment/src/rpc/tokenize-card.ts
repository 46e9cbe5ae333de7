import type { Payments } from "../app/use-cases.js";
import type { Handler } from "./handler.js";
import { parseTokenizeCard } from "../domain/validation.js";

export function tokenizeCard(payments: Payments): Handler<"tokenizeCard"> {
  return async (req) => {
    const card = await payments.tokenizeCard(parseTokenizeCard(req).digits);
    return { paymentMethod: card.paymentMethod, cardBrand: card.brand, cardLast4: card.last4 };
  };
}
