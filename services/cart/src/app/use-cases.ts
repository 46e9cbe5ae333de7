import { type Envelope, failedPrecondition, inTransaction, notFound } from "@shopmesh/platform";
import type { Kysely, Transaction } from "kysely";
import type { ProductCatalog } from "../clients/product-catalog.js";
import { claimAndLockCart, deleteLines, findCart, lockCart, takeUnits, touchCart, updateLine, upsertLine } from "../db/cart.repository.js";
import type { CartDb } from "../db/tables.js";
import { type CartLine, MAX_LINES, MAX_QUANTITY, type PricedCart, priceCart, type StoredCart, unitsByProduct } from "../domain/cart.js";

/** The cart use cases; arguments are validated by the caller, and `userId` is whose cart it is. */
export interface Carts {
  getCart(userId: string): Promise<PricedCart>;
  /** Adds units to the product's line (creating it). NOT_FOUND for a product the catalog does not know. */
  addItem(userId: string, productId: string, qty: number): Promise<PricedCart>;
  /** Sets the quantity of a line; NOT_FOUND when the product is not in the cart. */
  updateItem(userId: string, productId: string, qty: number): Promise<PricedCart>;
  /** Drops a line; a product not in the cart changes nothing. */
  removeItem(userId: string, productId: string): Promise<PricedCart>;
  clearCart(userId: string): Promise<PricedCart>;
  /**
   * Records `event` in the inbox and takes the ordered units out of the user's cart (lines that
   * reach 0 go), within the caller's transaction; false when the event was consumed before.
   */
  removeOrdered(trx: Transaction<CartDb>, event: Envelope, userId: string, ordered: readonly CartLine[]): Promise<boolean>;
}

export interface CartsOptions {
  readonly db: Kysely<CartDb>;
  readonly catalog: ProductCatalog;
  readonly now?: () => Date;
}

export function createCarts({ db, catalog, now = () => new Date() }: CartsOptions): Carts {
  const priced = async (cart: StoredCart) => priceCart(cart, await catalog.products(cart.lines.map((l) => l.productId)));
  const getCart = async (userId: string) => priced(await findCart(db, userId));
  const touch = (trx: Transaction<CartDb>, userId: string) => touchCart(trx, userId, now());

  return {
    getCart,

    async addItem(userId, productId, qty) {
      const product = (await catalog.products([productId])).get(productId);
      if (!product) throw notFound("product");
      if (product.archived) throw failedPrecondition(`product ${productId} is no longer sold`);
      const at = now();
      const stored = await inTransaction(db, async (trx): Promise<StoredCart> => {
        const lines = await lockCart(trx, userId, at);
        const existing = lines.find((l) => l.productId === productId);
        if (!existing && lines.length >= MAX_LINES) throw failedPrecondition(`a cart holds at most ${MAX_LINES} products`);
        const quantity = (existing?.quantity ?? 0) + qty;
        if (quantity > MAX_QUANTITY) {
          throw failedPrecondition(`a line holds at most ${MAX_QUANTITY} units; the cart has ${existing?.quantity ?? 0} of this product`);
        }
        await upsertLine(trx, userId, productId, quantity);
        // As committed: a new line comes last.
        const after = existing ? lines.map((l) => (l === existing ? { productId, quantity } : l)) : [...lines, { productId, quantity }];
        return { userId, lines: after, updatedAt: at };
      });
      return priced(stored);
    },

    async updateItem(userId, productId, qty) {
      await inTransaction(db, async (trx) => {
        if (!(await updateLine(trx, userId, productId, qty))) throw notFound("cart item");
        await touch(trx, userId);
      });
      return getCart(userId);
    },

    async removeItem(userId, productId) {
      await inTransaction(db, async (trx) => {
        if (await deleteLines(trx, userId, productId)) await touch(trx, userId);
      });
      return getCart(userId);
    },

    async clearCart(userId) {
      await inTransaction(db, async (trx) => {
        if (await deleteLines(trx, userId)) await touch(trx, userId);
      });
      return getCart(userId);
    },

    async removeOrdered(trx, event, userId, ordered) {
      const locked = await claimAndLockCart(trx, event, userId);
      if (!locked) return false;
      const units = unitsByProduct(ordered);
      if (locked.cart && units.size > 0) await takeUnits(trx, userId, units, now());
      return true;
    },
  };
}
