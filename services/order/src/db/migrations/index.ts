import { inboxMigrations, outboxMigrations } from "@shopmesh/platform";
import type { Migration } from "kysely";
import * as createOrders from "./20261125T0900_create_orders.js";

/** Migrations of the order schema, by name; names sort in the order they apply. */
export const orderMigrations: Readonly<Record<string, Migration>> = {
  ...outboxMigrations,
  ...inboxMigrations,
  "20261125T0900_create_orders": createOrders,
};
