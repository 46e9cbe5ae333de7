import { inboxMigrations, type Migration, outboxMigrations } from "@shopmesh/platform";
import { auditMigrations } from "@shopmesh/platform";
import * as createOrders from "./20261125T0900_create_orders.js";
import * as orderOnHold from "./20261207T0900_order_on_hold.js";
import * as orderRefunds from "./20261207T1900_order_refunds.js";
import * as orderEmail from "./20261207T2000_order_email.js";

/** Migrations of the order schema, by name; names sort in the order they apply. */
export const orderMigrations: Readonly<Record<string, Migration>> = {
  ...auditMigrations,
  ...outboxMigrations,
  ...inboxMigrations,
  "20261125T0900_create_orders": createOrders,
  "20261207T0900_order_on_hold": orderOnHold,
  "20261207T1900_order_refunds": orderRefunds,
  "20261207T2000_order_email": orderEmail,
};
