import type { DeadLettersTable, InboxTable } from "@shopmesh/platform";
import type { Generated } from "kysely";

/** One row per user who ever had an item; the row is the cart's lock and its change time. */
export interface CartsTable {
  user_id: string;
  updated_at: Date;
}

/** A product line of a cart: ids and quantities only, names and prices come from the catalog. */
export interface CartItemsTable {
  user_id: string;
  product_id: string;
  /** 1..99. */
  quantity: number;
  /** Increasing per insert: lines are listed in the order they were first added. */
  seq: Generated<string>;
}

export interface CartDb {
  carts: CartsTable;
  cart_items: CartItemsTable;
  inbox: InboxTable;
  dead_letters: DeadLettersTable;
}
