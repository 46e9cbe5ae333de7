import { inboxMigrations, type Migration } from "@shopmesh/platform";
import { auditMigrations } from "@shopmesh/platform";
import * as createCart from "./20261124T0900_create_cart.js";
import * as cartItemPrices from "./20261207T2200_cart_item_prices.js";

/** Migrations of the cart schema, by name; names sort in the order they apply. */
export const cartMigrations: Readonly<Record<string, Migration>> = {
  ...auditMigrations,
  ...inboxMigrations,
  "20261124T0900_create_cart": createCart,
  "20261207T2200_cart_item_prices": cartItemPrices,
};
