import { type Envelope, failedPrecondition, inTransaction, notFound } from "@shopmesh/platform";
import type { Kysely, Transaction } from "kysely";
import type { ProductCatalog } from "../clients/product-catalog.js";
import {
  claimAndLockCart,
  claimAndReprice,
  deleteLines,
  findCart,
  lockCart,
  markShown,
  repriceLines,
  takeUnits,
  touchCart,
  updateLine,
  upsertLine,
} from "../db/cart.repository.js";
import type { CartDb } from "../db/tables.js";
import {
  type CartLine,
  MAX_LINES,
  MAX_QUANTITY,
  type PriceChange,
  type PricedCart,
  priceCart,
  priceDrift,
  type StoredCart,
  unitsByProduct,
} from "../domain/cart.js";

/** The cart use cases; arguments are validated by the caller, and `userId` is whose cart it is. */
export interface Carts {
  /**
   * The cart as the shopper is shown it: lines the catalog has repriced since (the price-change
   * event may not have arrived yet) take the new price with a notice first, and the prices
   * answered are recorded as shown. The answers of the other shopper-facing calls are shown too.
   */
  getCart(userId: string): Promise<PricedCart>;
  /** The cart as stored, with the prices the shopper was last shown (for checkout); records nothing. */
  storedCart(userId: string): Promise<PricedCart>;
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
  /**
   * Records `event` in the inbox and moves the lines of the product, in every cart, to its new
   * price with a notice of the old one, within the caller's transaction; lines that already record
   * a later product version keep theirs. False when the event was consumed before.
   */
  applyPriceChange(trx: Transaction<CartDb>, event: Envelope, change: PriceChange): Promise<boolean>;
}

export interface CartsOptions {
  readonly db: Kysely<CartDb>;
  readonly catalog: ProductCatalog;
  readonly now?: () => Date;
}

export function createCarts({ db, catalog, now = () => new Date() }: CartsOptions): Carts {
  const productsOf = (cart: StoredCart) => catalog.products(cart.lines.map((l) => l.productId));
  const storedCart = async (userId: string) => {
    const cart = await findCart(db, userId);
    return priceCart(cart, await productsOf(cart));
  };
  const getCart = async (userId: string) => {
    const found = await findCart(db, userId);
    if (found.lines.length === 0) return priceCart(found, new Map());
    const products = await productsOf(found);
    const drift = priceDrift(found, products);
    const shown = found.lines.some((l) => l.price?.shownCents !== l.price?.priceCents);
    if (drift.length === 0 && !shown) return priceCart(found, products);
    const cart = await inTransaction(db, async (trx) => {
      await repriceLines(trx, userId, drift);
      await markShown(trx, userId);
      return findCart(trx, userId);
    });
    return priceCart(cart, products);
  };
  const touch = (trx: Transaction<CartDb>, userId: string) => touchCart(trx, userId, now());

  return {
    getCart,
    storedCart,

    async addItem(userId, productId, qty) {
      const product = (await catalog.products([productId])).get(productId);
      if (!product) throw notFound("product");
      if (product.archived) throw failedPrecondition(`product ${productId} is no longer sold`);
      const at = now();
      await inTransaction(db, async (trx) => {
        const lines = await lockCart(trx, userId, at);
        const existing = lines.find((l) => l.productId === productId);
        if (!existing && lines.length >= MAX_LINES) throw failedPrecondition(`a cart holds at most ${MAX_LINES} products`);
        const quantity = (existing?.quantity ?? 0) + qty;
        if (quantity > MAX_QUANTITY) {
          throw failedPrecondition(`a line holds at most ${MAX_QUANTITY} units; the cart has ${existing?.quantity ?? 0} of this product`);
        }
        await upsertLine(trx, userId, productId, quantity, {
          productId,
          priceCents: product.priceCents,
          currency: product.currency,
          version: product.version ?? 0n,
        });
      });
      return getCart(userId);
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

    async applyPriceChange(trx, event, change) {
      return claimAndReprice(trx, event, change);
    },
  };
}
