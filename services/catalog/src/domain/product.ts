import { failedPrecondition } from "@shopmesh/platform";

/** A product as the catalog serves it: its listing data and the units available now. */
export interface Product {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly priceCents: number;
  readonly currency: string;
  /** The first of `imageUrls`, "" when none. */
  readonly imageUrl: string;
  readonly imageUrls: readonly string[];
  readonly categories: readonly string[];
  /** Units available to buy (on hand minus reserved). */
  readonly available: number;
  /** When the product or its stock last changed. */
  readonly updatedAt: Date;
  /** Version of the product's own fields (not its stock): 1 when created, one more per change. */
  readonly version: number;
  /** Taken off sale: readable by id, never listed, reserved or sold. */
  readonly archived: boolean;
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
  /** The main picture; the only one unless `imageUrls` says otherwise. */
  readonly imageUrl: string;
  /** Every picture in display order, the first being the main one; [imageUrl] (or none) when absent. */
  readonly imageUrls?: readonly string[];
  readonly categories: readonly string[];
  readonly onHand: number;
}

/** The fields of a product an operator sets (CreateProduct, UpdateProduct), validated. */
export interface ProductFields {
  readonly name: string;
  readonly description: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly categories: readonly string[];
  readonly imageUrls: readonly string[];
}

/** The new product made of an operator's fields and initial stock. */
export function newProductOf(id: string, fields: ProductFields, onHand: number): NewProduct {
  return { id, ...fields, imageUrl: fields.imageUrls[0] ?? "", onHand };
}

/** The pictures of a new product: its `imageUrls`, else its `imageUrl` when set. */
export function imageUrlsOf(p: NewProduct): readonly string[] {
  return p.imageUrls ?? (p.imageUrl === "" ? [] : [p.imageUrl]);
}

/** A change of a product's unit price (or its currency), as ProductPriceChanged tells it. */
export interface PriceChange {
  readonly productId: string;
  readonly oldPriceCents: number;
  readonly oldCurrency: string;
  readonly newPriceCents: number;
  readonly currency: string;
  /** The product's version after the change. */
  readonly version: number;
}

/** The price change an update makes, or undefined when it keeps the price and currency. */
export function priceChangeOf(
  before: { readonly id: string; readonly priceCents: number; readonly currency: string },
  after: ProductFields,
  version: number,
): PriceChange | undefined {
  if (before.priceCents === after.priceCents && before.currency === after.currency) return undefined;
  return {
    productId: before.id,
    oldPriceCents: before.priceCents,
    oldCurrency: before.currency,
    newPriceCents: after.priceCents,
    currency: after.currency,
    version,
  };
}

/** What an operator's change (UpdateProduct, ArchiveProduct) does to a product in its current state. */
export type ProductChangeDecision = "apply" | "unchanged";

/**
 * Optimistic concurrency and the archive rule: a change names the version it read, and is refused
 * (FAILED_PRECONDITION) when that is no longer the current one. An archived product's fields stay
 * as they were when it was archived; archiving it again changes nothing.
 */
export function decideProductChange(
  current: { readonly id: string; readonly version: number; readonly archived: boolean },
  expectedVersion: number,
  change: "update" | "archive",
): ProductChangeDecision {
  if (current.version !== expectedVersion) {
    throw failedPrecondition(
      `product ${current.id} is at version ${current.version}, not ${expectedVersion}: read it again and reapply the change`,
    );
  }
  if (!current.archived) return "apply";
  if (change === "archive") return "unchanged";
  throw failedPrecondition(`product ${current.id} is archived and can no longer be changed`);
}

/** The orders products are listed in; each breaks ties by id. */
export type ProductSort = "relevance" | "price_asc" | "price_desc" | "name";

/**
 * A text search: the query in web search syntax, and its last word to match as a prefix too
 * (with `head`, the query before that word), when the last word is a plain one.
 */
export interface TextSearch {
  readonly query: string;
  readonly prefix: { readonly head: string; readonly word: string } | undefined;
}

/**
 * Position of the last product of a page in its order: the sort key as text (the name, the
 * price in cents, or the relevance rank) and the id.
 */
export interface PageCursor {
  readonly key: string;
  readonly id: string;
}

/** Which products to list, in which order, from where. */
export interface ProductQuery {
  readonly pageSize: number;
  readonly category: string | undefined;
  readonly search: TextSearch | undefined;
  readonly minPriceCents: number | undefined;
  readonly maxPriceCents: number | undefined;
  /** Never "relevance" without `search`. */
  readonly sort: ProductSort;
  readonly after: PageCursor | undefined;
  /** Archived products too (an operator's listing); off by default. */
  readonly includeArchived?: boolean;
}

/** One page of products and the cursor after its last item, if more follow. */
export interface ProductPage {
  readonly items: readonly Product[];
  readonly next: PageCursor | undefined;
}

/** Letters and digits: a word whose prefix can be searched for. */
const plainWord = /^[\p{L}\p{N}]+$/u;

/**
 * The text search of a query, or undefined for a blank one. The last word is matched as a prefix
 * too when it is a plain word (not excluded with `-`, quoted, or the operator `or`).
 */
export function textSearchOf(raw: string): TextSearch | undefined {
  const query = raw.trim();
  if (query === "") return undefined;
  const at = query.search(/\S+$/u);
  const word = query.slice(at);
  const head = query.slice(0, at).trimEnd();
  const quotes = (head.match(/"/g) ?? []).length;
  // After `or` the word is an alternative, which `head AND word*` would not express.
  const afterOr = /(^|\s)or$/iu.test(head);
  const prefixable = plainWord.test(word) && word.toLowerCase() !== "or" && !afterOr && quotes % 2 === 0;
  return { query, prefix: prefixable ? { head, word: word.toLowerCase() } : undefined };
}
