import type { DeadLettersTable, InboxTable } from "@shopmesh/platform";
import type { Generated } from "kysely";

/** One row per user who ever had an item; the row is the cart's lock and its change time. */
export interface CartsTable {
  user_id: string;
  updated_at: Date;
}

/** A product line of a cart: names come from the catalog; the prices are the line's own. */
export interface CartItemsTable {
  user_id: string;
  product_id: string;
  /** 1..99. */
  quantity: number;
  /** Increasing per insert: lines are listed in the order they were first added. */
  seq: Generated<string>;
  /** The unit price the line records: the catalog's when added, then its price changes. Null on lines from before prices were kept. */
  unit_price_cents: number | null;
  currency: string | null;
  /** The product version `unit_price_cents` is from: older price changes are ignored. */
  price_version: string | null;
  /** The unit price before the last change the line recorded (the notice); 0 when none. Cleared when re-added or ordered. */
  price_changed_from_cents: Generated<number>;
  /** The unit price the shopper was last shown for the line: checkout charges no other. */
  shown_price_cents: number | null;
}

export interface CartDb {
  carts: CartsTable;
  cart_items: CartItemsTable;
  inbox: InboxTable;
  dead_letters: DeadLettersTable;
}
