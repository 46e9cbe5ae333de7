import { unauthenticated } from "@shopmesh/platform";
import type { Payments } from "../app/use-cases.js";
import type { Handler } from "./handler.js";
import { toProtoPayment } from "./mapping.js";
import { parseGetPayment } from "../domain/validation.js";

/** ACCESS_USER: the caller is set by the requireUser interceptor; only their own payments are found. */
export function getPayment(payments: Payments): Handler<"getPayment"> {
  return async (req, ctx) => {
    if (!ctx.principal) throw unauthenticated();
    return { payment: toProtoPayment(await payments.getPayment(parseGetPayment(req), ctx.principal.userId)) };
  };
}
