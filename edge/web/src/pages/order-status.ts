import { type Order, OrderStatus, type OrderStatusUpdate, type StatusTransition } from "@shopmesh/proto/shop/order/v1/order_pb.js";

/** Whether checkout is over for the order (a refund may still follow: StreamOrders' `follow_refunds` hears of it). */
export function isFinal(status: OrderStatus): boolean {
  return (
    status === OrderStatus.PAID ||
    status === OrderStatus.CANCELLED ||
    status === OrderStatus.PARTIALLY_REFUNDED ||
    status === OrderStatus.REFUNDED
  );
}

/** Whether nothing more can happen to the order: cancelled, or refunded in full. Until then its page stays live. */
export function isClosed(status: OrderStatus): boolean {
  return status === OrderStatus.CANCELLED || status === OrderStatus.REFUNDED;
}

/** The same step of the history: a partly refunded order may take the same from → to step more than once, at other times. */
export function sameTransition(a: StatusTransition, b: StatusTransition): boolean {
  return (
    a.fromStatus === b.fromStatus &&
    a.toStatus === b.toStatus &&
    a.at?.seconds === b.at?.seconds &&
    a.at?.nanos === b.at?.nanos &&
    a.reason === b.reason
  );
}

export function statusName(status: OrderStatus): string {
  switch (status) {
    case OrderStatus.PENDING:
      return "Placed";
    case OrderStatus.STOCK_RESERVED:
      return "Stock reserved";
    case OrderStatus.PAID:
      return "Paid";
    case OrderStatus.CANCELLED:
      return "Cancelled";
    case OrderStatus.ON_HOLD:
      return "On hold";
    case OrderStatus.PARTIALLY_REFUNDED:
      return "Partly refunded";
    case OrderStatus.REFUNDED:
      return "Refunded";
    case OrderStatus.UNSPECIFIED:
      return "Unknown";
    default:
      return "Updated";
  }
}

/** Why an order was cancelled, for the shopper (reasons from Order.cancel_reason). */
export function cancelText(reason: string): string {
  switch (reason) {
    case "payment_declined":
      return "The card was declined. Nothing was charged.";
    case "payment_failed":
      return "The payment could not be processed. Nothing was charged.";
    case "out_of_stock":
      return "Some products were out of stock. Nothing was charged.";
    case "unknown_product":
      return "A product is no longer sold. Nothing was charged.";
    default:
      return reason === "" ? "The order was cancelled." : `The order was cancelled (${reason.replaceAll("_", " ")}).`;
  }
}

/** The order with a streamed update applied: its status, and the transition added to the history once. */
export function applyUpdate(order: Order, update: OrderStatusUpdate): Order {
  const t = update.transition;
  const known = (h: StatusTransition) => t !== undefined && sameTransition(h, t);
  return {
    ...order,
    status: update.status,
    cancelReason: update.cancelReason,
    paymentId: update.paymentId,
    history: t && !order.history.some(known) ? [...order.history, t] : order.history,
  };
}
