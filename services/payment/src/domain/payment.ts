/** A payment as the use cases see it (no database or wire types). */
export type PaymentStatus = "PENDING" | "SUCCEEDED" | "FAILED" | "REFUNDED";

/** Why a payment failed, as carried by PaymentFailed. */
export type FailureReason = "declined" | "provider_unavailable" | "invalid_payment_method";

export interface Payment {
  readonly id: string;
  readonly orderId: string;
  readonly userId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly failureReason: FailureReason | undefined;
  readonly refundReason: string | undefined;
  /** Amount refunded so far; amountCents once REFUNDED. */
  readonly refundedCents: number;
  readonly cardLast4: string;
  readonly attempts: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What to charge for an order. */
export interface ChargeIntent {
  readonly orderId: string;
  readonly userId: string;
  readonly amountCents: number;
  readonly currency: string;
  /** A payment-method token; empty for the provider's default test card. */
  readonly paymentMethod: string;
}

/** A ListPayments request as validation narrowed it. */
export interface ListQuery {
  /** 1..500; 0 for 100. */
  readonly pageSize: number;
  /** A previous page's `nextPageToken`; empty for the first page. */
  readonly pageToken: string;
  readonly statuses: readonly PaymentStatus[];
  readonly orderId: string;
  readonly userId: string;
}

/** Whether a second request for the same order asks for the same charge. */
export function sameCharge(payment: Payment, intent: ChargeIntent): boolean {
  return payment.userId === intent.userId && payment.amountCents === intent.amountCents && payment.currency === intent.currency;
}

/** Final states are never left, except SUCCEEDED → REFUNDED. A payment refunded in part stays SUCCEEDED. */
export function canRefund(payment: Payment): boolean {
  return payment.status === "SUCCEEDED";
}

/** What a refund of `amountCents` (undefined: all that is left) does to `payment`, or why it cannot. */
export type RefundDecision =
  | { readonly kind: "refund"; readonly amountCents: number; readonly refundedCents: number; readonly status: "SUCCEEDED" | "REFUNDED" }
  | { readonly kind: "not-refundable" }
  | { readonly kind: "too-much"; readonly leftCents: number };

export function decideRefund(payment: Payment, amountCents: number | undefined): RefundDecision {
  if (!canRefund(payment)) return { kind: "not-refundable" };
  const left = payment.amountCents - payment.refundedCents;
  const amount = amountCents ?? left;
  if (amount <= 0 || amount > left) return { kind: "too-much", leftCents: left };
  const refundedCents = payment.refundedCents + amount;
  return { kind: "refund", amountCents: amount, refundedCents, status: refundedCents === payment.amountCents ? "REFUNDED" : "SUCCEEDED" };
}
