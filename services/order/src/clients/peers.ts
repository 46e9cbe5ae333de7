import type { Client } from "@shopmesh/platform";
import type { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import type { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import type { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import type { CartLine, ProductPrice } from "../domain/order.js";

/** What checkout asks other services; their errors (UNAVAILABLE, …) reach the caller as they are. */
export interface CheckoutPeers {
  /** The lines of the user's cart, with the prices the shopper was last shown (cart's GetUserCart). */
  cartLines(userId: string): Promise<CartLine[]>;
  /** The products of `ids` the catalog knows, by id, at current prices (catalog's BatchGetProducts, one call). */
  prices(ids: readonly string[]): Promise<Map<string, ProductPrice>>;
  /** A payment-method token for a card's digits (payment's TokenizeCard); the same card always gives the same token. */
  tokenizeCard(digits: string): Promise<string>;
}

export interface CheckoutClients {
  readonly cart: Client<typeof CartService>;
  readonly catalog: Client<typeof CatalogService>;
  readonly payment: Client<typeof PaymentService>;
}

export function createGrpcCheckoutPeers({ cart, catalog, payment }: CheckoutClients): CheckoutPeers {
  return {
    async cartLines(userId) {
      const { cart: found } = await cart.getUserCart({ userId });
      return (found?.items ?? []).map((i) => ({
        productId: i.productId,
        quantity: i.quantity,
        ...(i.shownPriceCents > 0 ? { shownPriceCents: i.shownPriceCents } : {}),
        ...(i.shownPriceCents > 0 && found?.currency ? { shownCurrency: found.currency } : {}),
      }));
    },
    async prices(ids) {
      const prices = new Map<string, ProductPrice>();
      if (ids.length === 0) return prices;
      const { products } = await catalog.batchGetProducts({ ids: [...ids] });
      for (const p of products)
        prices.set(p.id, { id: p.id, name: p.name, priceCents: p.priceCents, currency: p.currency, archived: p.archived });
      return prices;
    },
    async tokenizeCard(digits) {
      const { paymentMethod } = await payment.tokenizeCard({ cardNumber: digits });
      return paymentMethod;
    },
  };
}
