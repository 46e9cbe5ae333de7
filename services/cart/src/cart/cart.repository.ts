import type { Kysely, Transaction } from "kysely";
import type { CartDb } from "../db/tables.js";
import type { CartLine, StoredCart } from "./cart.js";

type Db = Kysely<CartDb> | Transaction<CartDb>;

/** The user's cart as stored; empty (no updatedAt) when it never had an item. */
export async function findCart(db: Db, userId: string): Promise<StoredCart> {
  const cart = await db.selectFrom("carts").select("updated_at").where("user_id", "=", userId).executeTakeFirst();
  const lines = await findLines(db, userId);
  return { userId, lines, updatedAt: cart?.updated_at };
}

async function findLines(db: Db, userId: string): Promise<CartLine[]> {
  const rows = await db.selectFrom("cart_items").select(["product_id", "quantity"]).where("user_id", "=", userId).orderBy("seq").execute();
  return rows.map((r) => ({ productId: r.product_id, quantity: r.quantity }));
}

/**
 * Creates the cart row when missing, stamps it changed and locks it until `trx` ends, so the
 * changes of one cart are serialised; returns its lines as they are under the lock.
 */
export async function lockCart(trx: Transaction<CartDb>, userId: string, now: Date): Promise<CartLine[]> {
  await trx
    .insertInto("carts")
    .values({ user_id: userId, updated_at: now })
    .onConflict((oc) => oc.column("user_id").doUpdateSet({ updated_at: now }))
    .execute();
  return findLines(trx, userId);
}

/** Locks the user's cart until `trx` ends and returns its lines; undefined when the user never had one. */
export async function lockExistingCart(trx: Transaction<CartDb>, userId: string): Promise<CartLine[] | undefined> {
  const cart = await trx.selectFrom("carts").select("user_id").where("user_id", "=", userId).forUpdate().executeTakeFirst();
  return cart ? findLines(trx, userId) : undefined;
}

/** Sets a line's quantity, inserting it (as the cart's last line) when missing. */
export async function upsertLine(trx: Transaction<CartDb>, userId: string, productId: string, quantity: number): Promise<void> {
  await trx
    .insertInto("cart_items")
    .values({ user_id: userId, product_id: productId, quantity })
    .onConflict((oc) => oc.columns(["user_id", "product_id"]).doUpdateSet({ quantity }))
    .execute();
}

export async function deleteLines(trx: Transaction<CartDb>, userId: string, productIds: readonly string[]): Promise<void> {
  if (productIds.length === 0) return;
  await trx.deleteFrom("cart_items").where("user_id", "=", userId).where("product_id", "in", productIds).execute();
}
