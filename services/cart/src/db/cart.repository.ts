import { type Envelope, withDbErrors, withInboxClaim } from "@shopmesh/platform";
import { type Kysely, sql, type Transaction } from "kysely";
import type { CartDb } from "./tables.js";
import type { CartLine, PriceChange, StoredCart, StoredLine } from "../domain/cart.js";

type Db = Kysely<CartDb> | Transaction<CartDb>;

/** The user's cart as stored; empty (no updatedAt) when it never had an item. */
export async function findCart(db: Db, userId: string): Promise<StoredCart> {
  return withDbErrors(async () => {
    const rows = await db
      .selectFrom("carts")
      .leftJoin("cart_items", "cart_items.user_id", "carts.user_id")
      .select([
        "carts.updated_at",
        "cart_items.product_id",
        "cart_items.quantity",
        "cart_items.unit_price_cents",
        "cart_items.currency",
        "cart_items.price_version",
        "cart_items.price_changed_from_cents",
        "cart_items.shown_price_cents",
      ])
      .where("carts.user_id", "=", userId)
      .orderBy("cart_items.seq")
      .execute();
    const lines = rows.flatMap((r): StoredLine[] => {
      if (r.product_id === null || r.quantity === null) return [];
      const line = { productId: r.product_id, quantity: r.quantity };
      if (r.unit_price_cents === null || r.currency === null || r.price_version === null) return [line];
      const price = {
        priceCents: r.unit_price_cents,
        currency: r.currency,
        version: BigInt(r.price_version),
        changedFromCents: r.price_changed_from_cents ?? 0,
        shownCents: r.shown_price_cents ?? undefined,
      };
      return [{ ...line, price }];
    });
    return { userId, lines, updatedAt: rows[0]?.updated_at };
  });
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
  return withDbErrors(async () => {
    await trx
      .insertInto("carts")
      .values({ user_id: userId, updated_at: now })
      .onConflict((oc) => oc.column("user_id").doUpdateSet({ updated_at: now }))
      .execute();
    return findLines(trx, userId);
  });
}

/**
 * In one statement: records `event` in the inbox (see withInboxClaim) and locks the user's cart
 * until `trx` ends. Undefined when the event was consumed before; else whether the user has a cart.
 */
export async function claimAndLockCart(trx: Transaction<CartDb>, event: Envelope, userId: string): Promise<{ cart: boolean } | undefined> {
  return withDbErrors(async () => {
    const row = await withInboxClaim<CartDb>(trx, event)
      .with("locked", (qc) => qc.selectFrom("carts").select("user_id").where("user_id", "=", userId).forUpdate())
      .selectNoFrom((eb) => [
        eb.exists(eb.selectFrom("inbox_claim").select("event_id")).as("claimed"),
        eb.exists(eb.selectFrom("locked").select("user_id")).as("cart"),
      ])
      .executeTakeFirstOrThrow();
    return row.claimed ? { cart: Boolean(row.cart) } : undefined;
  });
}

/**
 * Takes `units` (product id → units) out of the user's cart, whose lock `trx` holds, in one
 * statement: a line with no more than the units taken goes, the others are reduced, and the
 * cart is stamped changed if a line was. What the shopper added meanwhile stays.
 */
export async function takeUnits(trx: Transaction<CartDb>, userId: string, units: ReadonlyMap<string, number>, now: Date): Promise<void> {
  return withDbErrors(async () => {
    await sql`
    with taken as (select * from unnest(${[...units.keys()]}::text[], ${[...units.values()]}::int[]) as t(product_id, quantity)),
    emptied as (
      delete from cart_items i using taken t
      where i.user_id = ${userId} and i.product_id = t.product_id and i.quantity <= t.quantity
      returning i.product_id),
    reduced as (
      update cart_items i set quantity = i.quantity - t.quantity, price_changed_from_cents = 0 from taken t
      where i.user_id = ${userId} and i.product_id = t.product_id and i.quantity > t.quantity
      returning i.product_id)
    update carts set updated_at = ${now}
    where user_id = ${userId} and (exists (select from emptied) or exists (select from reduced))`.execute(trx);
  });
}

/**
 * Sets a line's quantity, inserting it (as the cart's last line) when missing, at `price`: the
 * price the shopper is shown, which clears the line's price-change notice.
 */
export async function upsertLine(
  trx: Transaction<CartDb>,
  userId: string,
  productId: string,
  quantity: number,
  price: PriceChange,
): Promise<void> {
  return withDbErrors(async () => {
    const priced = {
      quantity,
      unit_price_cents: price.priceCents,
      currency: price.currency,
      price_version: price.version.toString(),
      price_changed_from_cents: 0,
      shown_price_cents: price.priceCents,
    };
    await trx
      .insertInto("cart_items")
      .values({ user_id: userId, product_id: productId, ...priced })
      .onConflict((oc) => oc.columns(["user_id", "product_id"]).doUpdateSet(priced))
      .execute();
  });
}

/**
 * The columns a price change sets on a line whose price is from an older version: the new price,
 * and as its notice the price it had before (kept when the price does not move). A line that
 * records no price yet takes it without a notice.
 */
function repriced(change: PriceChange) {
  return {
    unit_price_cents: change.priceCents,
    currency: change.currency,
    price_version: change.version.toString(),
    price_changed_from_cents: sql<number>`case when cart_items.unit_price_cents is null or cart_items.unit_price_cents = ${change.priceCents} then cart_items.price_changed_from_cents else cart_items.unit_price_cents end`,
  };
}

/**
 * In one statement: records `event` in the inbox (see withInboxClaim) and, when it is new, moves
 * every cart line of the product whose price is from an older version to `change`. False when
 * the event was consumed before.
 */
export async function claimAndReprice(trx: Transaction<CartDb>, event: Envelope, change: PriceChange): Promise<boolean> {
  return withDbErrors(async () => {
    const row = await withInboxClaim<CartDb>(trx, event)
      .with("repriced", (qc) =>
        qc
          .updateTable("cart_items")
          .set(repriced(change))
          .where("product_id", "=", change.productId)
          .where("unit_price_cents", "is not", null)
          .where(sql<boolean>`price_version < ${change.version.toString()}::bigint`)
          .where((eb) => eb.exists(eb.selectFrom("inbox_claim").select("event_id")))
          .returning("user_id"),
      )
      .selectNoFrom((eb) => [eb.exists(eb.selectFrom("inbox_claim").select("event_id")).as("claimed")])
      .executeTakeFirstOrThrow();
    return Boolean(row.claimed);
  });
}

/** Moves the user's lines of `changes` to their new prices (see `repriced`), unless a later version is recorded. */
export async function repriceLines(trx: Transaction<CartDb>, userId: string, changes: readonly PriceChange[]): Promise<void> {
  return withDbErrors(async () => {
    for (const change of changes) {
      await trx
        .updateTable("cart_items")
        .set(repriced(change))
        .where("user_id", "=", userId)
        .where("product_id", "=", change.productId)
        .where(sql<boolean>`coalesce(price_version, -1) < ${change.version.toString()}::bigint`)
        .execute();
    }
  });
}

/** Records that the shopper was shown the prices the user's lines record now. */
export async function markShown(trx: Transaction<CartDb>, userId: string): Promise<void> {
  return withDbErrors(async () => {
    await trx
      .updateTable("cart_items")
      .set((eb) => ({ shown_price_cents: eb.ref("unit_price_cents") }))
      .where("user_id", "=", userId)
      .where(sql<boolean>`shown_price_cents is distinct from unit_price_cents`)
      .execute();
  });
}

/** Sets the quantity of an existing line; false when the product is not in the cart. */
export async function updateLine(trx: Transaction<CartDb>, userId: string, productId: string, quantity: number): Promise<boolean> {
  return withDbErrors(async () => {
    const updated = await trx
      .updateTable("cart_items")
      .set({ quantity })
      .where("user_id", "=", userId)
      .where("product_id", "=", productId)
      .executeTakeFirst();
    return updated.numUpdatedRows > 0n;
  });
}

/** Drops the product's line, or every line without `productId`; whether a line went. */
export async function deleteLines(trx: Transaction<CartDb>, userId: string, productId?: string): Promise<boolean> {
  return withDbErrors(async () => {
    let q = trx.deleteFrom("cart_items").where("user_id", "=", userId);
    if (productId !== undefined) q = q.where("product_id", "=", productId);
    const deleted = await q.executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  });
}

/** Stamps the cart changed. */
export async function touchCart(trx: Transaction<CartDb>, userId: string, now: Date): Promise<void> {
  return withDbErrors(async () => {
    await trx.updateTable("carts").set({ updated_at: now }).where("user_id", "=", userId).execute();
  });
}
