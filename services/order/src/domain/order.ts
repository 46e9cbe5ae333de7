import type { KeysetCursor } from "@shopmesh/platform";

/**
 * The order aggregate as the use cases see it: plain data and rules, no database, wire or
 * transport types.
 */

/**
 * Where an order is. CANCELLED and REFUNDED are final; PAID ends checkout and may be refunded
 * (PARTIALLY_REFUNDED, REFUNDED); ON_HOLD waits for an operator.
 */
export type OrderStatus = "PENDING" | "STOCK_RESERVED" | "PAID" | "CANCELLED" | "ON_HOLD" | "PARTIALLY_REFUNDED" | "REFUNDED";

/** A status or, before the first transition, none. */
export type StatusOrNone = OrderStatus | "UNSPECIFIED";

/** Product lines an order may have (a cart holds at most 100 products). */
export const MAX_ORDER_LINES = 100;

/** Largest amount an order may total: amounts travel as int32 cents. */
export const MAX_TOTAL_CENTS = 2_147_483_647;

/** Reasons of the transitions that do not cancel (see StatusTransition.reason in order.proto). */
export const REASON_PLACED = "placed";
export const REASON_STOCK_RESERVED = "stock_reserved";
export const REASON_PAID = "paid";

/** Why an order is ON_HOLD: its payment succeeded, but not for its total. */
export const HOLD_PAYMENT_AMOUNT_MISMATCH = "payment_amount_mismatch";
export const HOLD_PAYMENT_CURRENCY_MISMATCH = "payment_currency_mismatch";

/** Cancel reasons the order service sets itself. */
export const CANCEL_OUT_OF_STOCK = "out_of_stock";
export const CANCEL_PAYMENT_DECLINED = "payment_declined";
export const CANCEL_PAYMENT_FAILED = "payment_failed";

export interface OrderItem {
  readonly productId: string;
  readonly name: string;
  readonly unitPriceCents: number;
  readonly quantity: number;
  readonly lineTotalCents: number;
}

/** Units of one product to refund. */
export interface RefundLine {
  readonly productId: string;
  readonly quantity: number;
}

/** A refund asked for by an operator; `completed` once the payment refunded it. */
export interface Refund {
  readonly id: string;
  readonly lines: readonly RefundLine[];
  readonly amountCents: number;
  readonly restock: boolean;
  readonly reason: string;
  readonly completed: boolean;
  readonly requestedAt: Date;
  readonly refundedAt: Date | undefined;
}

/** One step of an order's history; `seq` counts from 1 (the placing) per order. */
export interface StatusTransition {
  readonly seq: number;
  readonly from: StatusOrNone;
  readonly to: OrderStatus;
  readonly at: Date;
  readonly reason: string;
}

export interface Order {
  readonly id: string;
  readonly userId: string;
  /** The shopper's email address when the order was placed; '' when their token had none. */
  readonly email: string;
  readonly items: readonly OrderItem[];
  readonly totalCents: number;
  readonly currency: string;
  readonly status: OrderStatus;
  readonly cancelReason: string | undefined;
  /** Why the order is ON_HOLD (the reason of the transition that held it); undefined otherwise. */
  readonly holdReason: string | undefined;
  readonly paymentId: string | undefined;
  /** Oldest first; the first is UNSPECIFIED → PENDING. */
  readonly history: readonly StatusTransition[];
  /** Refunds asked for, oldest first. */
  readonly refunds: readonly Refund[];
  /** Sum of the completed refunds. */
  readonly refundedCents: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A ListAllOrders request as validation narrowed it (internal: every user's orders). */
export interface AllOrdersQuery {
  readonly pageSize: number;
  /** Where the previous page ended (its decoded page token); undefined for the first page. */
  readonly after: KeysetCursor | undefined;
  readonly statuses: readonly OrderStatus[];
  readonly updatedBefore: Date | undefined;
  readonly userId: string | undefined;
  /** Only orders placed with this address, ignoring case. */
  readonly email: string | undefined;
}

/** The status of one order as watchers see it: now, and the transition that got it there. */
export interface StatusUpdate {
  readonly orderId: string;
  readonly status: OrderStatus;
  readonly transition: StatusTransition;
  readonly cancelReason: string | undefined;
  readonly paymentId: string | undefined;
}

/** A line of the shopper's cart: what they want, and the unit price they were shown for it. */
export interface CartLine {
  readonly productId: string;
  readonly quantity: number;
  /** The unit price the cart last showed the shopper; undefined when the cart recorded none. */
  readonly shownPriceCents?: number;
  /** The currency of `shownPriceCents`. */
  readonly shownCurrency?: string;
}

/** A product whose price at checkout is not the one the shopper was shown. */
export interface ChangedPrice {
  readonly productId: string;
  readonly shownCents: number;
  readonly shownCurrency: string;
  readonly priceCents: number;
  readonly currency: string;
}

/** What the catalog says of a product now. */
export interface ProductPrice {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
  readonly currency: string;
  /** Taken off sale by the catalog: it cannot be ordered. */
  readonly archived?: boolean;
}

export type Pricing =
  | { readonly kind: "priced"; readonly items: OrderItem[]; readonly totalCents: number; readonly currency: string }
  | { readonly kind: "empty" }
  | { readonly kind: "missing-products"; readonly productIds: string[] }
  | { readonly kind: "archived-products"; readonly productIds: string[] }
  | { readonly kind: "mixed-currencies"; readonly currencies: string[] }
  | { readonly kind: "price-changed"; readonly changed: ChangedPrice[] }
  | { readonly kind: "too-large" };

/**
 * Prices cart lines at the catalog's current prices. Repeated products are merged into one
 * line; every product must be known, on sale (not archived) and all in one currency, at the
 * price the shopper was shown where the cart recorded one; the total must fit an int32.
 */
export function priceOrder(lines: readonly CartLine[], products: ReadonlyMap<string, ProductPrice>): Pricing {
  const units = new Map<string, number>();
  for (const { productId, quantity } of lines) units.set(productId, (units.get(productId) ?? 0) + quantity);
  if (units.size === 0) return { kind: "empty" };
  const missing = [...units.keys()].filter((id) => !products.has(id));
  if (missing.length > 0) return { kind: "missing-products", productIds: missing };
  const archived = [...units.keys()].filter((id) => products.get(id)?.archived === true);
  if (archived.length > 0) return { kind: "archived-products", productIds: archived };
  const currencies = [...new Set([...units.keys()].map((id) => products.get(id)!.currency))];
  if (currencies.length > 1) return { kind: "mixed-currencies", currencies };
  const changed: ChangedPrice[] = [];
  for (const line of lines) {
    if (line.shownPriceCents === undefined || changed.some((c) => c.productId === line.productId)) continue;
    const product = products.get(line.productId)!;
    const shownCurrency = line.shownCurrency ?? product.currency;
    if (line.shownPriceCents !== product.priceCents || shownCurrency !== product.currency)
      changed.push({
        productId: line.productId,
        shownCents: line.shownPriceCents,
        shownCurrency,
        priceCents: product.priceCents,
        currency: product.currency,
      });
  }
  if (changed.length > 0) return { kind: "price-changed", changed };
  const items: OrderItem[] = [];
  let totalCents = 0;
  for (const [productId, quantity] of units) {
    const product = products.get(productId)!;
    const lineTotalCents = product.priceCents * quantity;
    totalCents += lineTotalCents;
    items.push({ productId, name: product.name, unitPriceCents: product.priceCents, quantity, lineTotalCents });
  }
  if (totalCents > MAX_TOTAL_CENTS) return { kind: "too-large" };
  return { kind: "priced", items, totalCents, currency: currencies[0]! };
}

/** What an order is to be paid: its total, in its currency. */
export interface AmountDue {
  readonly totalCents: number;
  readonly currency: string;
}

/**
 * Why a payment of `amountCents` in `currency` cannot pay an order due `due`, or undefined when
 * it is exactly the total. A currency mismatch wins: an amount in another currency says nothing.
 */
export function paymentMismatch(due: AmountDue, amountCents: number, currency: string): string | undefined {
  if (currency !== due.currency) return HOLD_PAYMENT_CURRENCY_MISMATCH;
  if (amountCents !== due.totalCents) return HOLD_PAYMENT_AMOUNT_MISMATCH;
  return undefined;
}

/** The order's cancel reason when its payment failed with the payment service's `reason`. */
export function cancelReasonForPaymentFailure(reason: string): string {
  // "declined" is the shopper's card saying no; "provider_unavailable" and
  // "invalid_payment_method" (and anything added later) mean we could not charge.
  return reason === "declined" ? CANCEL_PAYMENT_DECLINED : CANCEL_PAYMENT_FAILED;
}

const reasonPattern = /^[a-z][a-z0-9_]{0,63}$/;

/** The order's cancel reason when the catalog rejected its stock: the catalog's reason ("out_of_stock", "unknown_product"). */
export function cancelReasonForStockRejection(reason: string): string {
  return reasonPattern.test(reason) ? reason : CANCEL_OUT_OF_STOCK;
}
