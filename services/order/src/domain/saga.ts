import {
  type AmountDue,
  cancelReasonForPaymentFailure,
  cancelReasonForStockRejection,
  type OrderStatus,
  paymentMismatch,
  REASON_PAID,
  REASON_STOCK_RESERVED,
} from "./order.js";

/** The checkout saga's events that move an order, decoded. */
export type SagaEvent =
  | { readonly kind: "stock-reserved"; readonly orderId: string }
  | { readonly kind: "stock-rejected"; readonly orderId: string; readonly reason: string }
  | {
      readonly kind: "payment-succeeded";
      readonly orderId: string;
      readonly paymentId: string;
      readonly amountCents: number;
      readonly currency: string;
    }
  | { readonly kind: "payment-failed"; readonly orderId: string; readonly reason: string }
  | {
      readonly kind: "payment-refunded";
      readonly orderId: string;
      /** The order's refund; empty for a whole refund asked for at the payment service. */
      readonly refundId: string;
      readonly amountCents: number;
      readonly reason: string;
    };

export interface Step {
  readonly to: OrderStatus;
  readonly reason: string;
}

/**
 * What an event does to an order in `status`: the steps to record (checked against the status
 * machine by whoever applies them), or nothing. Ignored events are `stale` when the order is
 * already where the event would take it or further (a redelivery, or an event overtaken by a
 * later one from another topic) and `conflict` when the event contradicts what happened
 * (e.g. a payment failing for a PAID order): both leave the order as it is.
 */
export type Reaction =
  | { readonly kind: "apply"; readonly steps: readonly Step[]; readonly paymentId?: string }
  | { readonly kind: "refund-charge"; readonly paymentId: string }
  | { readonly kind: "ignore"; readonly why: "stale" | "conflict" };

const reserved: Step = { to: "STOCK_RESERVED", reason: REASON_STOCK_RESERVED };
const stale = { kind: "ignore", why: "stale" } as const;
const conflict = { kind: "ignore", why: "conflict" } as const;

/**
 * Catalog's and payment's events travel on different topics, so an order may hear of its
 * payment before its reservation. The payment service charges only after StockReserved, so a
 * payment result for a PENDING order implies the reservation: it is recorded first
 * (PENDING → STOCK_RESERVED → PAID or CANCELLED) and the late StockReserved is then stale.
 *
 * A payment pays the order only when its amount and currency are the order's total (`due`):
 * whatever produced it, any other PaymentSucceeded holds the order for an operator (ON_HOLD,
 * with the mismatch as its reason) and never makes it PAID. A held order stays held: later
 * payment results are for the operator to weigh.
 *
 * A payment that succeeds for a CANCELLED order (an operator cancelled it while it was being
 * charged) took money for nothing: it is refunded (`refund-charge`), the order staying CANCELLED.
 */
export function reactTo(status: OrderStatus, event: SagaEvent, due: AmountDue): Reaction {
  switch (event.kind) {
    case "stock-reserved":
      return status === "PENDING" ? { kind: "apply", steps: [reserved] } : stale;
    case "stock-rejected": {
      const cancel: Step = { to: "CANCELLED", reason: cancelReasonForStockRejection(event.reason) };
      if (status === "PENDING") return { kind: "apply", steps: [cancel] };
      return status === "CANCELLED" ? stale : conflict;
    }
    case "payment-succeeded": {
      const mismatch = paymentMismatch(due, event.amountCents, event.currency);
      const settle: Step = mismatch === undefined ? { to: "PAID", reason: REASON_PAID } : { to: "ON_HOLD", reason: mismatch };
      if (status === "PENDING") return { kind: "apply", steps: [reserved, settle], paymentId: event.paymentId };
      if (status === "STOCK_RESERVED") return { kind: "apply", steps: [settle], paymentId: event.paymentId };
      if (status === "CANCELLED") return { kind: "refund-charge", paymentId: event.paymentId };
      return status === "PAID" || status === "ON_HOLD" ? stale : conflict;
    }
    case "payment-failed": {
      const cancel: Step = { to: "CANCELLED", reason: cancelReasonForPaymentFailure(event.reason) };
      if (status === "PENDING") return { kind: "apply", steps: [reserved, cancel] };
      if (status === "STOCK_RESERVED") return { kind: "apply", steps: [cancel] };
      return status === "CANCELLED" ? stale : conflict;
    }
    case "payment-refunded":
      // Refunds are applied by Orders.consumeRefund, which needs the order's refunds.
      throw new Error("a refund is not a checkout step");
    default: {
      const never: never = event;
      throw new Error(`unknown saga event ${JSON.stringify(never)}`);
    }
  }
}
