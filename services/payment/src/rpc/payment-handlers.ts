import type { ServiceHandlers } from "@shopmesh/platform";
import type { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import type { Payments } from "../app/use-cases.js";
import { charge } from "./charge.js";
import { getPayment } from "./get-payment.js";
import { listPayments } from "./list-payments.js";
import { refund } from "./refund.js";
import { tokenizeCard } from "./tokenize-card.js";

/** Every PaymentService RPC, bound to the payment use cases. */
export function paymentHandlers(payments: Payments): ServiceHandlers<typeof PaymentService> {
  return {
    getPayment: getPayment(payments),
    tokenizeCard: tokenizeCard(payments),
    charge: charge(payments),
    refund: refund(payments),
    listPayments: listPayments(payments),
  };
}
