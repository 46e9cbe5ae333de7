import type { OrderItem, OrderStatus, Refund, RefundLine } from "./order.js";

/**
 * Refunds of a paid order, whole or by line: which units may still be refunded, what they
 * cost, and where the order goes once the payment returned the money. No I/O.
 */

/** Reasons of the refund transitions (see StatusTransition.reason in order.proto). */
export const REASON_REFUNDED = "refunded";
export const REASON_PARTIALLY_REFUNDED = "partially_refunded";

/** Statuses an order may be refunded from. */
export function isRefundable(status: OrderStatus): boolean {
  return status === "PAID" || status === "PARTIALLY_REFUNDED";
}

/** Units of each product refunded or being refunded. */
export function unitsRefunded(refunds: readonly Pick<Refund, "lines">[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const r of refunds) for (const l of r.lines) units.set(l.productId, (units.get(l.productId) ?? 0) + l.quantity);
  return units;
}

/** What a refund request comes to. */
export type RefundPlan =
  | {
      readonly kind: "refund";
      /** The order's lines cut to the refunded units, priced at the order's unit prices. */
      readonly items: readonly OrderItem[];
      readonly lines: readonly RefundLine[];
      readonly amountCents: number;
    }
  | { readonly kind: "not-refundable"; readonly status: OrderStatus }
  /** A whole refund of an order whose every unit was refunded (or is being refunded). */
  | { readonly kind: "nothing-left" }
  /** Requested line `index` names a product the order does not have, or names it twice. */
  | { readonly kind: "unknown-line"; readonly index: number }
  | { readonly kind: "duplicate-line"; readonly index: number }
  /** Requested line `index` asks for more units than remain (`left`). */
  | { readonly kind: "too-many"; readonly index: number; readonly left: number };

/**
 * Plans a refund of `requested` lines (empty: everything not refunded yet) of an order with
 * `items`, given the refunds already asked for. The amount is the units at the order's unit
 * prices, so the refunds of an order never add up to more than its total.
 */
export function planRefund(
  order: { readonly status: OrderStatus; readonly items: readonly OrderItem[]; readonly refunds: readonly Pick<Refund, "lines">[] },
  requested: readonly RefundLine[],
): RefundPlan {
  if (!isRefundable(order.status)) return { kind: "not-refundable", status: order.status };
  const done = unitsRefunded(order.refunds);
  const byProduct = new Map(order.items.map((i) => [i.productId, i]));
  const left = (productId: string) => (byProduct.get(productId)?.quantity ?? 0) - (done.get(productId) ?? 0);
  let lines: RefundLine[];
  if (requested.length === 0) {
    lines = order.items.map((i) => ({ productId: i.productId, quantity: left(i.productId) })).filter((l) => l.quantity > 0);
    if (lines.length === 0) return { kind: "nothing-left" };
  } else {
    const seen = new Set<string>();
    for (const [index, l] of requested.entries()) {
      if (!byProduct.has(l.productId)) return { kind: "unknown-line", index };
      if (seen.has(l.productId)) return { kind: "duplicate-line", index };
      seen.add(l.productId);
      if (l.quantity > left(l.productId)) return { kind: "too-many", index, left: left(l.productId) };
    }
    lines = [...requested];
  }
  const items = lines.map((l) => {
    const item = byProduct.get(l.productId) as OrderItem;
    return { ...item, quantity: l.quantity, lineTotalCents: item.unitPriceCents * l.quantity };
  });
  return { kind: "refund", items, lines, amountCents: items.reduce((sum, i) => sum + i.lineTotalCents, 0) };
}

/** Where an order of `totalCents` goes once `refundedCents` of it were refunded. */
export function statusAfterRefund(totalCents: number, refundedCents: number): "REFUNDED" | "PARTIALLY_REFUNDED" {
  return refundedCents >= totalCents ? "REFUNDED" : "PARTIALLY_REFUNDED";
}

/** Whether a refund asked again under the same id asks for the same thing. */
export function sameRefund(a: Pick<Refund, "lines" | "restock">, lines: readonly RefundLine[], restock: boolean, whole: boolean): boolean {
  if (a.restock !== restock) return false;
  if (whole) return true;
  const key = (ls: readonly RefundLine[]) =>
    [...ls]
      .map((l) => `${l.productId}:${l.quantity}`)
      .sort()
      .join(",");
  return key(a.lines) === key(lines);
}
