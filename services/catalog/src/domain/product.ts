/** A product as the catalog serves it: its listing data and the units available now. */
export interface Product {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly imageUrl: string;
  readonly categories: readonly string[];
  /** Units available to buy (on hand minus reserved). */
  readonly available: number;
  /** When the product or its stock last changed. */
  readonly updatedAt: Date;
}

/** The stock of one product at one moment. */
export interface StockLevel {
  readonly productId: string;
  readonly available: number;
  /** Grows with every change of the product's stock; orders levels of the same product. */
  readonly version: number;
  readonly updatedAt: Date;
}

/**
 * A product as read from the database, with what a later stock level needs to be merged into
 * it: the version of the stock level it shows, and when its own fields last changed.
 */
export interface VersionedProduct {
  readonly product: Product;
  /** Version of the stock level behind `product.available`. */
  readonly stockVersion: number;
  /** When the listing fields last changed; `product.updatedAt` is the later of this and the stock's time. */
  readonly fieldsUpdatedAt: Date;
}

/** `v` showing `level` if that is newer than the level it shows, else `v` itself. */
export function withNewerStock(v: VersionedProduct, level: StockLevel): VersionedProduct {
  if (level.version <= v.stockVersion) return v;
  const updatedAt = new Date(Math.max(level.updatedAt.getTime(), v.fieldsUpdatedAt.getTime()));
  return {
    product: { ...v.product, available: level.available, updatedAt },
    stockVersion: level.version,
    fieldsUpdatedAt: v.fieldsUpdatedAt,
  };
}

/** A product to add to the catalog, with its initial stock on hand. */
export interface NewProduct {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly imageUrl: string;
  readonly categories: readonly string[];
  readonly onHand: number;
}

/** Position of the last product of a page in the (name, id) order. */
export interface PageCursor {
  readonly name: string;
  readonly id: string;
}

/** One page of products and the cursor after its last item, if more follow. */
export interface ProductPage {
  readonly items: readonly Product[];
  readonly next: PageCursor | undefined;
}
