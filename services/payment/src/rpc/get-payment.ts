import { invalidArgument, unauthenticated } from "@shopmesh/platform";
import type { Payments } from "../payment/payment.service.js";
import type { Handler } from "./handler.js";
import { toProtoPayment } from "./mapping.js";
import { requireText, requireUuid } from "./validation.js";

/** ACCESS_USER: the caller is set by the requireUser interceptor; only their own payments are found. */
export function getPayment(payments: Payments): Handler<"getPayment"> {
  return async (req, ctx) => {
    if (!ctx.principal) throw unauthenticated();
    const { lookup } = req;
    let key: { id: string } | { orderId: string };
    switch (lookup.case) {
      case "id":
        key = { id: requireUuid("id", lookup.value) };
        break;
      case "orderId":
        key = { orderId: requireText("order_id", lookup.value) };
        break;
      case undefined:
        throw invalidArgument("lookup", "give id or order_id");
      default: {
        const never: never = lookup;
        throw invalidArgument("lookup", `unknown case ${String(never)}`);
      }
    }
    return { payment: toProtoPayment(await payments.getPayment(key, ctx.principal.userId)) };
  };
}
