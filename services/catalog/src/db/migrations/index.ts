import { inboxMigrations, outboxMigrations } from "@shopmesh/platform";
import type { Migration } from "kysely";
import * as createCatalog from "./20251124-0900-create-catalog.js";

/** Migrations of the catalog schema, by name; names sort in the order they apply. */
export const catalogMigrations: Readonly<Record<string, Migration>> = {
  "20251124-0900-create-catalog": createCatalog,
  ...outboxMigrations,
  ...inboxMigrations,
};
