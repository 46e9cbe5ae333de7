import { inboxMigrations, type Migration, outboxMigrations } from "@shopmesh/platform";
import { auditMigrations } from "@shopmesh/platform";
import * as createCatalog from "./20261124T0900_create_catalog.js";
import * as addProductSearch from "./20261207T1720_add_product_search.js";
import * as stockBookIndexes from "./20261207T2100_stock_book_indexes.js";
import * as addProductManagement from "./20261207T2200_add_product_management.js";
import * as addPriceHistory from "./20261207T2300_add_price_history.js";

/** Migrations of the catalog schema, by name; names sort in the order they apply. */
export const catalogMigrations: Readonly<Record<string, Migration>> = {
  ...auditMigrations,
  ...outboxMigrations,
  ...inboxMigrations,
  // Was 20251124-0900-create-catalog: dated a year before the outbox and inbox it runs after, and in another format.
  "20261124T0900_create_catalog": { ...createCatalog, renamedFrom: ["20251124-0900-create-catalog"] },
  "20261207T1720_add_product_search": addProductSearch,
  "20261207T2100_stock_book_indexes": stockBookIndexes,
  "20261207T2200_add_product_management": addProductManagement,
  "20261207T2300_add_price_history": addPriceHistory,
};
