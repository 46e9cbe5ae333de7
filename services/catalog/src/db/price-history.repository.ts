import { withDbErrors } from "@shopmesh/platform";
import type { PriceChange } from "../domain/product.js";
import type { CatalogDbHandle } from "./catalog.repository.js";

/**
 * One price of a product's history as it is written: a change, or with `oldCurrency` "" (and
 * `oldPriceCents` 0) the price the product was created with; by whom.
 */
export type NewPriceChange = PriceChange & { readonly changedBy: string };

/** One price of a product's history (see the PriceChange message). */
export type PriceChangeRecord = NewPriceChange & { readonly id: string; readonly changedAt: Date };

/** Appends prices to their products' histories. */
export async function insertPriceChanges(db: CatalogDbHandle, changes: readonly NewPriceChange[]): Promise<void> {
  return withDbErrors(async () => {
    if (changes.length === 0) return;
    await db
      .insertInto("price_changes")
      .values(
        changes.map((c) => ({
          product_id: c.productId,
          old_price_cents: c.oldCurrency === "" ? null : c.oldPriceCents,
          old_currency: c.oldCurrency === "" ? null : c.oldCurrency,
          new_price_cents: c.newPriceCents,
          currency: c.currency,
          version: c.version,
          changed_by: c.changedBy,
        })),
      )
      .execute();
  });
}

/** A product's prices before the entry `beforeId` (newest first), at most `limit`. */
export async function listPriceChanges(
  db: CatalogDbHandle,
  q: { productId: string; beforeId: string | undefined; limit: number },
): Promise<PriceChangeRecord[]> {
  return withDbErrors(async () => {
    let query = db.selectFrom("price_changes").selectAll().where("product_id", "=", q.productId).orderBy("id", "desc").limit(q.limit);
    if (q.beforeId !== undefined) query = query.where("id", "<", q.beforeId);
    const rows = await query.execute();
    return rows.map((r) => ({
      id: String(r.id),
      productId: r.product_id,
      oldPriceCents: r.old_price_cents ?? 0,
      oldCurrency: r.old_currency ?? "",
      newPriceCents: r.new_price_cents,
      currency: r.currency,
      version: Number(r.version),
      changedAt: r.changed_at,
      changedBy: r.changed_by,
    }));
  });
}
