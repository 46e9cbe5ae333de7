import type { OrderStatus, StatusOrNone } from "./order.js";

/**
 * The order status machine: UNSPECIFIED → PENDING (placing), PENDING → STOCK_RESERVED → PAID,
 * PENDING → CANCELLED, STOCK_RESERVED → CANCELLED, STOCK_RESERVED → ON_HOLD (a payment that is
 * not the order's total); an operator settles an ON_HOLD order as PAID or CANCELLED. A refund
 * moves a PAID order to PARTIALLY_REFUNDED (again, for each further part) or REFUNDED.
 * CANCELLED and REFUNDED are final.
 */
const next: Readonly<Record<StatusOrNone, readonly OrderStatus[]>> = {
  UNSPECIFIED: ["PENDING"],
  PENDING: ["STOCK_RESERVED", "CANCELLED"],
  STOCK_RESERVED: ["PAID", "CANCELLED", "ON_HOLD"],
  PAID: ["PARTIALLY_REFUNDED", "REFUNDED"],
  CANCELLED: [],
  ON_HOLD: ["PAID", "CANCELLED"],
  PARTIALLY_REFUNDED: ["PARTIALLY_REFUNDED", "REFUNDED"],
  REFUNDED: [],
};

/** A transition the machine does not allow was asked for. */
export class IllegalTransitionError extends Error {
  override readonly name = "IllegalTransitionError";
  constructor(
    readonly from: StatusOrNone,
    readonly to: OrderStatus,
  ) {
    super(`an order cannot go from ${from} to ${to}`);
  }
}

export function canTransition(from: StatusOrNone, to: OrderStatus): boolean {
  return next[from].includes(to);
}

/** Returns `to` when the machine allows `from → to`; throws IllegalTransitionError otherwise. */
export function transition(from: StatusOrNone, to: OrderStatus): OrderStatus {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
}

export function isFinal(status: OrderStatus): boolean {
  return next[status].length === 0;
}

/** Whether checkout is over for an order in `status`: paid (refunds may follow) or final. */
export function endsCheckout(status: OrderStatus): boolean {
  return status !== "PENDING" && status !== "STOCK_RESERVED" && status !== "ON_HOLD";
}
