import type { DeadLettersTable, InboxTable, OutboxTable } from "@shopmesh/platform";
import type { Generated, GeneratedAlways, Insertable, Selectable } from "kysely";

/** Timestamps default to `now()` in the database and are read as Dates. */
type Timestamp = Date;

export interface ProductsTable {
  id: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  image_url: string;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
  /** What text search matches: the name's English stems (weight A) and the description's (B). */
  search_vector: GeneratedAlways<string>;
  /** Version of the fields above: 1 when created, one more with every change (bigint, read as text). */
  version: Generated<string | number>;
  /** When the product was taken off sale; null while on sale. */
  archived_at: Timestamp | null;
  /** Picture URLs in display order; `image_url` is the first ('' when none). */
  image_urls: Generated<string[]>;
}

/** Category slugs of a product; `position` keeps the order they were given in. */
export interface ProductCategoriesTable {
  product_id: string;
  category: string;
  position: number;
}

/**
 * One row per product. `available` is `on_hand - reserved`, kept >= 0 by a check constraint;
 * `version` grows by one with every change so that stock watchers can drop stale levels.
 */
export interface StockTable {
  product_id: string;
  on_hand: number;
  reserved: number;
  version: Generated<number>;
  updated_at: Generated<Timestamp>;
}

export type ReservationStatusColumn = "reserved" | "rejected" | "released";

/**
 * One row per order that asked for stock; the primary key makes ReserveStock idempotent. An
 * order cancelled before it asked gets a `released` row without items (a tombstone).
 */
export interface ReservationsTable {
  order_id: string;
  status: ReservationStatusColumn;
  /** Why it was rejected ("out_of_stock", "unknown_product") or released ("payment_failed", "order_cancelled", …). */
  reason: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
  released_at: Timestamp | null;
}

/** Items of a reservation as requested, with the units that were available at the time. */
export interface ReservationItemsTable {
  order_id: string;
  product_id: string;
  quantity: number;
  available: number;
}

/** Append-only log of changes to stock on hand. */
export interface StockAdjustmentsTable {
  id: Generated<string>;
  product_id: string;
  delta: number;
  reason: string;
  on_hand_after: number;
  created_at: Generated<Timestamp>;
}

/**
 * Append-only price history of products: the price a product was created with (no old price) and
 * every change of its price or currency, at the product version it took effect.
 */
export interface PriceChangesTable {
  id: Generated<string>;
  product_id: string;
  /** Null for the price the product was created with. */
  old_price_cents: number | null;
  /** Null exactly when `old_price_cents` is. */
  old_currency: string | null;
  new_price_cents: number;
  currency: string;
  /** bigint, read as text. */
  version: string | number;
  /** The operator's user id, or "seed". */
  changed_by: string;
  changed_at: Generated<Timestamp>;
}

/** Data seeds applied to this schema (the demo catalog), so each runs once. */
export interface SeedsTable {
  name: string;
  applied_at: Generated<Timestamp>;
}

export interface CatalogDb {
  products: ProductsTable;
  product_categories: ProductCategoriesTable;
  stock: StockTable;
  reservations: ReservationsTable;
  reservation_items: ReservationItemsTable;
  stock_adjustments: StockAdjustmentsTable;
  price_changes: PriceChangesTable;
  seeds: SeedsTable;
  outbox: OutboxTable;
  inbox: InboxTable;
  dead_letters: DeadLettersTable;
}

export type ProductRow = Selectable<ProductsTable>;
export type NewProduct = Insertable<ProductsTable>;
export type StockRow = Selectable<StockTable>;
export type ReservationRow = Selectable<ReservationsTable>;
export type ReservationItemRow = Selectable<ReservationItemsTable>;
