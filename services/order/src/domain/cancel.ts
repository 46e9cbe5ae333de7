import type { OrderStatus } from "./order.js";

/** The cancel reason of an order an operator cancelled (CancelOrder); their own words are audited. */
export const CANCEL_OPERATOR = "operator";

/**
 * The refund id under which the charge of a cancelled order is given back: the held payment of
 * an ON_HOLD order cancelled by an operator, or a payment that succeeded after the cancel. One
 * per order (an order has one payment), so asking twice refunds once.
 */
export const CANCEL_REFUND_ID = "cancelled";

/** Why a refund of a cancelled order's charge is asked for (the payment's refund reason). */
export const CANCEL_REFUND_REASON = "order_cancelled";

/** What an operator's cancel does to an order in `status`. */
export type CancelPlan =
  /** Cancel it; refund its payment when one succeeded (ON_HOLD: held for the wrong amount). */
  | { readonly kind: "cancel"; readonly refundPayment: boolean }
  /** Cancelled before: answer with it as it is. */
  | { readonly kind: "already-cancelled" }
  /** Paid or refunded: refund it instead. */
  | { readonly kind: "not-cancellable"; readonly status: OrderStatus };

export function planCancel(status: OrderStatus): CancelPlan {
  switch (status) {
    case "PENDING":
    case "STOCK_RESERVED":
      return { kind: "cancel", refundPayment: false };
    case "ON_HOLD":
      return { kind: "cancel", refundPayment: true };
    case "CANCELLED":
      return { kind: "already-cancelled" };
    case "PAID":
    case "PARTIALLY_REFUNDED":
    case "REFUNDED":
      return { kind: "not-cancellable", status };
    default: {
      const never: never = status;
      throw new Error(`unknown order status ${JSON.stringify(never)}`);
    }
  }
}
