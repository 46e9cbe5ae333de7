import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Payment as ProtoPayment, PaymentSchema, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import type { Payment, PaymentStatus as Status } from "../domain/payment.js";

const toProtoStatus: Record<Status, PaymentStatus> = {
  PENDING: PaymentStatus.PENDING,
  SUCCEEDED: PaymentStatus.SUCCEEDED,
  FAILED: PaymentStatus.FAILED,
  REFUNDED: PaymentStatus.REFUNDED,
};

export function toProtoPayment(p: Payment): ProtoPayment {
  return create(PaymentSchema, {
    id: p.id,
    orderId: p.orderId,
    userId: p.userId,
    amountCents: p.amountCents,
    currency: p.currency,
    status: toProtoStatus[p.status],
    failureReason: p.failureReason ?? "",
    cardLast4: p.cardLast4,
    attempts: p.attempts,
    createdAt: timestampFromDate(p.createdAt),
    updatedAt: timestampFromDate(p.updatedAt),
    refundReason: p.refundReason ?? "",
    refundedCents: p.refundedCents,
  });
}
