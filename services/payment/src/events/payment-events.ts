import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createEnvelope, type Envelope } from "@shopmesh/platform";
import { PaymentFailedSchema, PaymentRefundedSchema, PaymentSucceededSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import type { Payment } from "../domain/payment.js";

const source = "payment";

/** The event a payment's new final state announces (keyed by order id). */
export function paymentEvent(p: Payment): Envelope | undefined {
  const common = { paymentId: p.id, orderId: p.orderId, userId: p.userId, amountCents: p.amountCents, currency: p.currency };
  const at = timestampFromDate(p.updatedAt);
  const opts = { source, key: p.orderId, time: p.updatedAt };
  switch (p.status) {
    case "SUCCEEDED":
      return createEnvelope(PaymentSucceededSchema, create(PaymentSucceededSchema, { ...common, succeededAt: at }), opts);
    case "FAILED":
      return createEnvelope(
        PaymentFailedSchema,
        create(PaymentFailedSchema, { ...common, reason: p.failureReason ?? "", failedAt: at }),
        opts,
      );
    case "REFUNDED":
      return createEnvelope(
        PaymentRefundedSchema,
        create(PaymentRefundedSchema, { ...common, reason: p.refundReason ?? "", refundedAt: at }),
        opts,
      );
    case "PENDING":
      return undefined;
    default: {
      const never: never = p.status;
      throw new Error(`unknown payment status ${String(never)}`);
    }
  }
}

/** A refund of `amountCents` of the payment (for the order's refund `refundId`, "" for the rest). */
export function paymentRefunded(p: Payment, refundId: string, amountCents: number): Envelope {
  const message = create(PaymentRefundedSchema, {
    paymentId: p.id,
    orderId: p.orderId,
    userId: p.userId,
    amountCents,
    currency: p.currency,
    reason: p.refundReason ?? "",
    refundedAt: timestampFromDate(p.updatedAt),
    refundId,
    refundedCents: p.refundedCents,
  });
  return createEnvelope(PaymentRefundedSchema, message, { source, key: p.orderId, time: p.updatedAt });
}
