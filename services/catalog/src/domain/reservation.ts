import { alreadyExists } from "@shopmesh/platform";

export type ReservationStatus = "reserved" | "rejected" | "released";

/** Units of one product. */
export interface StockItem {
  readonly productId: string;
  readonly quantity: number;
}

/** A product that could not be reserved in full. */
export interface StockShortage {
  readonly productId: string;
  readonly requested: number;
  /** Units available when the reservation was decided; 0 for an unknown product. */
  readonly available: number;
}

/** Why a reservation was rejected, as carried by the StockRejected event. */
export type RejectionReason = "out_of_stock" | "unknown_product";

/** What ReserveStock answers, the first time and on every replay. */
export interface ReservationOutcome {
  readonly status: ReservationStatus;
  readonly shortages: readonly StockShortage[];
  /** True when the outcome was recorded by an earlier call with the same order id. */
  readonly replayed: boolean;
}

/** An item with the units that were available when the reservation was decided. */
export interface DecidedItem extends StockItem {
  readonly available: number;
}

/** The decision for a reservation: all items held, or none. */
export interface ReservationDecision {
  readonly status: "reserved" | "rejected";
  readonly reason: RejectionReason | undefined;
  readonly items: readonly DecidedItem[];
  readonly shortages: readonly StockShortage[];
}

/**
 * Decides a reservation from the units available per product (absent = unknown product):
 * reserved when every item is covered, otherwise rejected with each short item.
 */
export function decideReservation(items: readonly StockItem[], available: ReadonlyMap<string, number>): ReservationDecision {
  const decided = items.map((it) => ({ ...it, available: available.get(it.productId) ?? 0 }));
  const shortages = shortagesOf(decided);
  if (shortages.length === 0) return { status: "reserved", reason: undefined, items: decided, shortages };
  const unknown = items.some((it) => !available.has(it.productId));
  return { status: "rejected", reason: unknown ? "unknown_product" : "out_of_stock", items: decided, shortages };
}

/** The short items among decided ones, in product id order. */
export function shortagesOf(items: readonly DecidedItem[]): StockShortage[] {
  return items
    .filter((it) => it.available < it.quantity)
    .map((it) => ({ productId: it.productId, requested: it.quantity, available: Math.max(0, it.available) }))
    .sort((a, b) => compareIds(a.productId, b.productId));
}

/**
 * A repeated ReserveStock must ask for what the first call asked for: the order id is an
 * idempotency key, and reusing it for other items is a caller bug (ALREADY_EXISTS).
 */
export function assertSameItems(orderId: string, recorded: readonly StockItem[], requested: readonly StockItem[]): void {
  const key = (items: readonly StockItem[]) =>
    [...items]
      .sort((a, b) => compareIds(a.productId, b.productId))
      .map((it) => `${it.productId}\u0000${it.quantity}`)
      .join("\u0001");
  if (key(recorded) !== key(requested)) {
    throw alreadyExists(`order ${orderId} already has a reservation for other items`);
  }
}

/** Whether releasing a reservation in `status` returns stock; only a held reservation does. */
export function releaseReturnsStock(status: ReservationStatus): boolean {
  switch (status) {
    case "reserved":
      return true;
    case "rejected":
    case "released":
      return false;
    default:
      return assertNever(status);
  }
}

/**
 * A reservation released before it was ever reserved: the order was cancelled (or its payment
 * failed) before its OrderPlaced reached the catalog. It has no items, as every reservation
 * asked for has at least one, and a later request to reserve for the order replays it.
 */
export function isTombstone(r: { readonly status: ReservationStatus; readonly items: readonly unknown[] }): boolean {
  return r.status === "released" && r.items.length === 0;
}

/** Code-unit order of product ids: the order stock rows are locked in, on every database. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value ${String(value)}`);
}
