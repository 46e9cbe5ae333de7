import { withDbErrors } from "@shopmesh/platform";
import type { CatalogDbHandle } from "./catalog.repository.js";

/** One price of a product's history (see the PriceChange message): old price 0 and old currency "" for its first. */
export interface PriceChangeRecord {
  readonly id: string;
  readonly productId: string;
  readonly oldPriceCents: number;
  readonly oldCurrency: string;
  readonly newPriceCents: number;
  readonly currency: string;
  readonly version: number;
  readonly changedAt: Date;
  readonly changedBy: string;
}

/** What one price of the history says; without `old`, the price the product was created with. */
export interface NewPriceChange {
  readonly productId: string;
  readonly old?: { readonly priceCents: number; readonly currency: string };
  readonly newPriceCents: number;
  readonly currency: string;
  readonly version: number;
  readonly changedBy: string;
}

/** Appends prices to their products' histories. */
export async function insertPriceChanges(db: CatalogDbHandle, changes: readonly NewPriceChange[]): Promise<void> {
  return withDbErrors(async () => {
    if (changes.length === 0) return;
    await db
      .insertInto("price_changes")
      .values(
        changes.map((c) => ({
          product_id: c.productId,
          old_price_cents: c.old?.priceCents ?? null,
          old_currency: c.old?.currency ?? null,
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
