import type { Payments } from "../app/use-cases.js";
import type { Handler } from "./handler.js";
import { toProtoPayment } from "./mapping.js";
import { parseCharge } from "../domain/validation.js";

export function charge(payments: Payments): Handler<"charge"> {
  return async (req) => ({ payment: toProtoPayment(await payments.charge(parseCharge(req))) });
}
