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
