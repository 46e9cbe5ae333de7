import { inboxMigrations, type Migration, outboxMigrations } from "@shopmesh/platform";
import { auditMigrations } from "@shopmesh/platform";
import * as createPayment from "./20261124T0900_create_payment.js";
import * as partialRefunds from "./20261207T1900_partial_refunds.js";

/** Migrations of the payment schema, by name; names sort in the order they apply. */
export const paymentMigrations: Readonly<Record<string, Migration>> = {
  ...auditMigrations,
  ...outboxMigrations,
  ...inboxMigrations,
  "20261124T0900_create_payment": createPayment,
  "20261207T1900_partial_refunds": partialRefunds,
};
