/** Units of one product a cart line may hold. */
export const MIN_QUANTITY = 1;
export const MAX_QUANTITY = 99;
/** Distinct products a cart may hold. */
export const MAX_LINES = 100;

/** A line the user chose: a product and its units. */
export interface CartLine {
  readonly productId: string;
  readonly quantity: number;
}

/** The unit price a stored line records. */
export interface LinePrice {
  readonly priceCents: number;
  readonly currency: string;
  /** The product version the price is from. */
  readonly version: bigint;
  /** The unit price before the last change the line recorded; 0 when none (the notice). */
  readonly changedFromCents: number;
  /** The unit price the shopper was last shown for the line; undefined when never recorded. */
  readonly shownCents: number | undefined;
}

/** A stored cart line; `price` is undefined on lines added before carts kept prices. */
export interface StoredLine extends CartLine {
  readonly price?: LinePrice;
}

/** A stored cart; `updatedAt` is undefined for a cart that never had an item. */
export interface StoredCart {
  readonly userId: string;
  readonly lines: readonly StoredLine[];
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
  /** The product's version (0 when unknown). */
  readonly version?: bigint;
}

/** A product's new unit price, as of a product version: a price change to record on cart lines. */
export interface PriceChange {
  readonly productId: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly version: bigint;
}

/**
 * The price changes the catalog's current data brings to the cart's lines: a line whose price is
 * from an older product version and differs from the catalog's now, or that records no price yet
 * (then it takes the catalog's without a notice). The price-change event may not have arrived.
 */
export function priceDrift(cart: StoredCart, products: ReadonlyMap<string, ProductInfo>): PriceChange[] {
  const changes: PriceChange[] = [];
  for (const line of cart.lines) {
    const product = products.get(line.productId);
    if (!product) continue;
    const version = product.version ?? 0n;
    const change = { productId: line.productId, priceCents: product.priceCents, currency: product.currency, version };
    if (!line.price) changes.push(change);
    else if (version > line.price.version && (line.price.priceCents !== product.priceCents || line.price.currency !== product.currency))
      changes.push(change);
  }
  return changes;
}

export interface PricedLine {
  readonly productId: string;
  readonly name: string;
  readonly unitPriceCents: number;
  readonly quantity: number;
  readonly lineTotalCents: number;
  /** The unit price before the last price change the line recorded; 0 when none. */
  readonly priceChangedFromCents: number;
  /** The unit price the shopper was last shown for the line; 0 when not recorded. */
  readonly shownPriceCents: number;
}

export interface PricedCart {
  readonly userId: string;
  readonly items: readonly PricedLine[];
  readonly totalCents: number;
  readonly currency: string;
  readonly updatedAt: Date | undefined;
}

/**
 * Prices a cart at the prices its lines record (the catalog's current one for a line that records
 * none), naming products as the catalog does. Lines whose product the catalog no longer knows are
 * left out of the answer (they stay stored and can still be removed).
 */
export function priceCart(cart: StoredCart, products: ReadonlyMap<string, ProductInfo>): PricedCart {
  const items: PricedLine[] = [];
  let currency = "";
  for (const line of cart.lines) {
    const product = products.get(line.productId);
    if (!product) continue;
    const unitPriceCents = line.price?.priceCents ?? product.priceCents;
    currency ||= line.price?.currency ?? product.currency;
    items.push({
      productId: line.productId,
      name: product.name,
      unitPriceCents,
      quantity: line.quantity,
      lineTotalCents: unitPriceCents * line.quantity,
      priceChangedFromCents: line.price?.changedFromCents ?? 0,
      shownPriceCents: line.price?.shownCents ?? 0,
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
