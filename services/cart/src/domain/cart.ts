/** Units of one product a cart line may hold. */
export const MIN_QUANTITY = 1;
export const MAX_QUANTITY = 99;
/** Distinct products a cart may hold. */
export const MAX_LINES = 100;

/** A stored cart line: what the user chose, without catalog data. */
export interface CartLine {
  readonly productId: string;
  readonly quantity: number;
}

/** A stored cart; `updatedAt` is undefined for a cart that never had an item. */
export interface StoredCart {
  readonly userId: string;
  readonly lines: readonly CartLine[];
  readonly updatedAt: Date | undefined;
}

/** What the catalog says of a product now. */
export interface ProductInfo {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
  readonly currency: string;
  /** Taken off sale by the catalog: it cannot be added to a cart or ordered. */
  readonly archived?: boolean;
}

export interface PricedLine {
  readonly productId: string;
  readonly name: string;
  readonly unitPriceCents: number;
  readonly quantity: number;
  readonly lineTotalCents: number;
}

export interface PricedCart {
  readonly userId: string;
  readonly items: readonly PricedLine[];
  readonly totalCents: number;
  readonly currency: string;
  readonly updatedAt: Date | undefined;
}

/**
 * Prices a cart with the catalog's current data. Lines whose product the catalog no longer
 * knows are left out of the answer (they stay stored and can still be removed).
 */
export function priceCart(cart: StoredCart, products: ReadonlyMap<string, ProductInfo>): PricedCart {
  const items: PricedLine[] = [];
  let currency = "";
  for (const line of cart.lines) {
    const product = products.get(line.productId);
    if (!product) continue;
    currency ||= product.currency;
    items.push({
      productId: line.productId,
      name: product.name,
      unitPriceCents: product.priceCents,
      quantity: line.quantity,
      lineTotalCents: product.priceCents * line.quantity,
    });
  }
  return {
    userId: cart.userId,
    items,
    totalCents: items.reduce((sum, item) => sum + item.lineTotalCents, 0),
    currency,
    updatedAt: cart.updatedAt,
  };
}

/** Ordered units per product, summed over repeated lines. */
export function unitsByProduct(lines: readonly CartLine[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const { productId, quantity } of lines) units.set(productId, (units.get(productId) ?? 0) + quantity);
  return units;
}
