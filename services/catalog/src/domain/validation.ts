import { invalidArgument, keysetToken, violations } from "@shopmesh/platform";
import { type PageCursor, type ProductFields, type ProductQuery, type ProductSort, type TextSearch, textSearchOf } from "./product.js";
import type { StockItem } from "./reservation.js";

/**
 * Every request rule of CatalogService, internal RPCs included. Each RPC has one `parseX(req)`
 * that names every bad field in one INVALID_ARGUMENT (one field violation each, proto field
 * paths such as `items[2].quantity`) and returns the narrowed request; handlers call it and
 * check nothing themselves. The field-level checkers below serve the saga consumer too.
 */

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const MAX_BATCH_IDS = 100;
export const MAX_RESERVATION_ITEMS = 100;
export const MAX_ITEM_QUANTITY = 999;
/** Largest single stock adjustment, and the most stock on hand a product may have. */
export const MAX_ADJUSTMENT = 1_000_000;
export const MAX_ON_HAND = 1_000_000_000;

const productIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const categoryPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;
const orderIdPattern = /^[\x21-\x7e]{1,128}$/;

export function parsePageSize(raw: number): number {
  if (raw === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(raw) || raw < 1 || raw > MAX_PAGE_SIZE) {
    throw invalidArgument("page_size", `must be between 1 and ${MAX_PAGE_SIZE} (0 for ${DEFAULT_PAGE_SIZE}), got ${raw}`);
  }
  return raw;
}

export const DEFAULT_BOOKS_PAGE_SIZE = 100;
export const MAX_BOOKS_PAGE_SIZE = 500;

/** Page size of the internal listings (ListStockBooks, ListReservations). */
export function parseBooksPageSize(raw: number): number {
  if (raw === 0) return DEFAULT_BOOKS_PAGE_SIZE;
  if (!Number.isInteger(raw) || raw < 1 || raw > MAX_BOOKS_PAGE_SIZE) {
    throw invalidArgument("page_size", `must be between 1 and ${MAX_BOOKS_PAGE_SIZE} (0 for ${DEFAULT_BOOKS_PAGE_SIZE}), got ${raw}`);
  }
  return raw;
}

/** A category slug, or undefined for "all categories". */
export function parseCategory(raw: string): string | undefined {
  if (raw === "") return undefined;
  if (!categoryPattern.test(raw)) throw invalidArgument("category", 'must be a lowercase slug such as "kitchen"');
  return raw;
}

export function parseProductId(field: string, raw: string): string {
  if (raw === "") throw invalidArgument(field, "is required");
  if (!productIdPattern.test(raw)) throw invalidArgument(field, "is not a valid product id");
  return raw;
}

/** 1..`max` product ids, every bad one named by its index; de-duplicated in the order given. */
export function parseProductIds(field: string, raw: readonly string[], max: number): string[] {
  if (raw.length === 0) throw invalidArgument(field, "needs at least one id");
  return parseSomeProductIds(field, raw, max);
}

/** 0..`max` product ids, every bad one named by its index; de-duplicated in the order given. */
function parseSomeProductIds(field: string, raw: readonly string[], max: number): string[] {
  if (raw.length > max) throw invalidArgument(field, `at most ${max} ids, got ${raw.length}`);
  const v = violations();
  const ids = raw.map((id, i) => v.parse(() => parseProductId(`${field}[${i}]`, id), ""));
  v.throwIfAny();
  return [...new Set(ids)];
}

export function parseOrderId(raw: string): string {
  if (raw === "") throw invalidArgument("order_id", "is required");
  if (!orderIdPattern.test(raw)) throw invalidArgument("order_id", "must be 1..128 printable ASCII characters");
  return raw;
}

/** 1..100 items, each product at most once, 1..999 units each; every bad item field named. */
export function parseStockItems(raw: readonly { productId: string; quantity: number }[]): StockItem[] {
  if (raw.length === 0) throw invalidArgument("items", "needs at least one item");
  if (raw.length > MAX_RESERVATION_ITEMS) throw invalidArgument("items", `at most ${MAX_RESERVATION_ITEMS} items, got ${raw.length}`);
  const v = violations();
  const seen = new Set<string>();
  const items = raw.map((it, i) => {
    const productId = v.parse(() => parseProductId(`items[${i}].product_id`, it.productId), "");
    if (productId !== "" && v.check(!seen.has(productId), `items[${i}].product_id`, `${productId} is listed more than once`)) {
      seen.add(productId);
    }
    v.check(
      Number.isInteger(it.quantity) && it.quantity >= 1 && it.quantity <= MAX_ITEM_QUANTITY,
      `items[${i}].quantity`,
      `must be between 1 and ${MAX_ITEM_QUANTITY}, got ${it.quantity}`,
    );
    return { productId, quantity: it.quantity };
  });
  v.throwIfAny();
  return items;
}

export function parseDelta(raw: number): number {
  if (raw === 0) throw invalidArgument("delta", "must not be zero");
  if (!Number.isInteger(raw) || Math.abs(raw) > MAX_ADJUSTMENT) {
    throw invalidArgument("delta", `must be a non-zero integer within ±${MAX_ADJUSTMENT}, got ${raw}`);
  }
  return raw;
}

/** Page tokens of ListProducts by name: the last (name, id) of the previous page. */
const productsByName = keysetToken({ name: "string", id: "string" });
/** Page tokens of ListProducts in the other orders: the order, then the last (sort key, id). */
const productsByKey = keysetToken({ sort: "string", key: "string", id: "string" });

/** Prices are int32 cents. */
const MAX_PRICE_CENTS = 2 ** 31 - 1;

/** What the sort key of each order looks like as text: a price in cents, a relevance rank. */
const sortKeyPattern: Readonly<Record<Exclude<ProductSort, "name">, RegExp>> = {
  price_asc: /^(0|[1-9][0-9]{0,9})$/,
  price_desc: /^(0|[1-9][0-9]{0,9})$/,
  relevance: /^[0-9]{1,10}(\.[0-9]{1,40})?$/,
};

/** The page tokens of ListProducts, one layout per order; a token continues only its own order. */
export const productPages = {
  encode(sort: ProductSort, last: PageCursor): string {
    return sort === "name" ? productsByName.encode({ name: last.key, id: last.id }) : productsByKey.encode({ sort, ...last });
  },
  decode(sort: ProductSort, token: string): PageCursor | undefined {
    if (sort === "name") {
      const c = productsByName.decode(token);
      return c && { key: c.name, id: c.id };
    }
    const c = productsByKey.decode(token);
    if (c === undefined) return undefined;
    const fits = sortKeyPattern[sort].test(c.key) && (sort === "relevance" || Number(c.key) <= MAX_PRICE_CENTS);
    if (c.sort !== sort || !fits) throw invalidArgument("page_token", "is not a page token of this order");
    return { key: c.key, id: c.id };
  },
};

export const MAX_QUERY_LENGTH = 200;

/** A search query of at most 200 characters; undefined when blank. */
export function parseQuery(raw: string): TextSearch | undefined {
  const length = [...raw].length;
  if (length > MAX_QUERY_LENGTH) throw invalidArgument("q", `at most ${MAX_QUERY_LENGTH} characters, got ${length}`);
  return textSearchOf(raw);
}

/** A price bound in cents, at least 0; undefined when unset. */
export function parsePriceBound(field: string, raw: number | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!Number.isInteger(raw) || raw < 0) throw invalidArgument(field, `must be at least 0, got ${raw}`);
  return raw;
}

const sorts: ReadonlySet<string> = new Set<ProductSort>(["relevance", "price_asc", "price_desc", "name"]);

/**
 * The order asked for ("unspecified" or one of ProductSort's words): relevance with a search and
 * name without one, whether unspecified or relevance was asked for.
 */
export function parseSort(raw: string, search: boolean): ProductSort {
  if (raw !== "unspecified" && !sorts.has(raw)) throw invalidArgument("sort", `unknown order ${raw}`);
  if (raw === "unspecified" || raw === "relevance") return search ? "relevance" : "name";
  return raw as ProductSort;
}

/** Page tokens of the internal listings: the last key (product or order id) of the previous page. */
export const keyPages = keysetToken({ key: "string" });

/** A free-text reason, trimmed; `fallback` when empty. */
export function parseReason(field: string, raw: string, fallback: string): string {
  const reason = raw.trim();
  if (reason.length > 200) throw invalidArgument(field, "at most 200 characters");
  return reason === "" ? fallback : reason;
}

/**
 * ListProducts: every bad field at once. `sort` is the word of the order asked for ("unspecified",
 * "relevance", "price_asc", "price_desc", "name"; anything else is refused).
 */
export function parseListProducts(req: {
  pageSize: number;
  pageToken: string;
  category: string;
  q: string;
  minPriceCents?: number | undefined;
  maxPriceCents?: number | undefined;
  sort: string;
  includeArchived?: boolean;
}): ProductQuery {
  const v = violations();
  // The order decides how a page token reads; a bad order is named after the other fields.
  const hasQuery = req.q.trim() !== "";
  const orderOf = () => parseSort(req.sort, hasQuery);
  const known = req.sort === "unspecified" || sorts.has(req.sort) ? orderOf() : undefined;
  const pageSize = v.parse(() => parsePageSize(req.pageSize), DEFAULT_PAGE_SIZE);
  const after = v.parse(() => (known === undefined ? undefined : productPages.decode(known, req.pageToken)), undefined);
  const category = v.parse(() => parseCategory(req.category), undefined);
  const search = v.parse(() => parseQuery(req.q), undefined);
  const minPriceCents = v.parse(() => parsePriceBound("min_price_cents", req.minPriceCents), undefined);
  const maxPriceCents = v.parse(() => parsePriceBound("max_price_cents", req.maxPriceCents), undefined);
  if (minPriceCents !== undefined && maxPriceCents !== undefined) {
    v.check(
      minPriceCents <= maxPriceCents,
      "max_price_cents",
      `must not be below min_price_cents (${minPriceCents}), got ${maxPriceCents}`,
    );
  }
  const sort = v.parse(orderOf, "name");
  v.throwIfAny();
  return { pageSize, category, search, minPriceCents, maxPriceCents, sort, after, includeArchived: req.includeArchived === true };
}

/** ReserveStock: every bad field at once. */
export function parseReserveStock(req: { orderId: string; items: readonly { productId: string; quantity: number }[] }): {
  orderId: string;
  items: StockItem[];
} {
  const v = violations();
  const orderId = v.parse(() => parseOrderId(req.orderId), "");
  const items = v.parse(() => parseStockItems(req.items), []);
  v.throwIfAny();
  return { orderId, items };
}

/** ReleaseStock: every bad field at once. */
export function parseReleaseStock(req: { orderId: string; reason: string }): { orderId: string; reason: string } {
  const v = violations();
  const orderId = v.parse(() => parseOrderId(req.orderId), "");
  const reason = v.parse(() => parseReason("reason", req.reason, "unspecified"), "");
  v.throwIfAny();
  return { orderId, reason };
}

/** GetProduct. */
export function parseGetProduct(req: { id: string }): { id: string } {
  const v = violations();
  const id = v.parse(() => parseProductId("id", req.id), "");
  v.throwIfAny();
  return { id };
}

/** BatchGetProducts: 1..100 ids, every bad one named. */
export function parseBatchGetProducts(req: { ids: readonly string[] }): { ids: string[] } {
  const v = violations();
  const ids = v.parse(() => parseProductIds("ids", req.ids, MAX_BATCH_IDS), []);
  v.throwIfAny();
  return { ids };
}

/** StreamStock: 1..100 product ids, every bad one named. */
export function parseStreamStock(req: { productIds: readonly string[] }): { productIds: string[] } {
  const v = violations();
  const productIds = v.parse(() => parseProductIds("product_ids", req.productIds, MAX_BATCH_IDS), []);
  v.throwIfAny();
  return { productIds };
}

/** Most product ids one WatchStock/StreamStock stream may watch at once. */
export const MAX_WATCHED_PRODUCTS = 500;

/**
 * One client message of WatchStock: up to 100 ids to add and up to 500 (as many as a stream may
 * watch) to remove, either list possibly empty. How many one stream watches in all is the
 * watch's limit (RESOURCE_EXHAUSTED), not a field's.
 */
export function parseWatchStock(req: { addProductIds: readonly string[]; removeProductIds: readonly string[] }): {
  add: string[];
  remove: string[];
} {
  const v = violations();
  const add = v.parse(() => parseSomeProductIds("add_product_ids", req.addProductIds, MAX_BATCH_IDS), []);
  const remove = v.parse(() => parseSomeProductIds("remove_product_ids", req.removeProductIds, MAX_WATCHED_PRODUCTS), []);
  v.throwIfAny();
  return { add, remove };
}

/** AdjustStock: the product, a non-zero delta within ±1,000,000, and a reason ("unspecified" when empty). */
export function parseAdjustStock(req: { productId: string; delta: number; reason: string }): {
  productId: string;
  delta: number;
  reason: string;
} {
  const v = violations();
  const productId = v.parse(() => parseProductId("product_id", req.productId), "");
  const delta = v.parse(() => parseDelta(req.delta), 0);
  const reason = v.parse(() => parseReason("reason", req.reason, "unspecified"), "");
  v.throwIfAny();
  return { productId, delta, reason };
}

/** The internal listings, ListStockBooks and ListReservations: page size 0..500 and a key token. */
function parseKeyPage(req: { pageSize: number; pageToken: string }): { pageSize: number; after: string | undefined } {
  const v = violations();
  const pageSize = v.parse(() => parseBooksPageSize(req.pageSize), DEFAULT_BOOKS_PAGE_SIZE);
  const after = v.parse(() => keyPages.decode(req.pageToken)?.key, undefined);
  v.throwIfAny();
  return { pageSize, after };
}

/** ListStockBooks (internal). */
export const parseListStockBooks = parseKeyPage;

/** ListReservations (internal). */
export const parseListReservations = parseKeyPage;

/**
 * Page tokens of a product's histories, ListStockAdjustments and ListPriceChanges: the id of the
 * last entry of the previous page.
 */
export const historyPages = keysetToken({ id: "string" });

/** A product's history (newest first): the product, page size 0..100 and a token holding an entry id. */
function parseHistoryPage(req: { productId: string; pageSize: number; pageToken: string }): {
  productId: string;
  pageSize: number;
  beforeId: string | undefined;
} {
  const v = violations();
  const productId = v.parse(() => parseProductId("product_id", req.productId), "");
  const pageSize = v.parse(() => parsePageSize(req.pageSize), DEFAULT_PAGE_SIZE);
  const beforeId = v.parse(() => {
    const id = historyPages.decode(req.pageToken)?.id;
    // Entry ids are bigint identities; anything else did not come from this listing.
    if (id !== undefined && !/^[1-9][0-9]{0,18}$/.test(id)) throw invalidArgument("page_token", "is not a page token of this listing");
    return id;
  }, undefined);
  v.throwIfAny();
  return { productId, pageSize, beforeId };
}

/** ListStockAdjustments (operator). */
export const parseListStockAdjustments = parseHistoryPage;

/** ListPriceChanges (operator). */
export const parseListPriceChanges = parseHistoryPage;

export const MAX_NAME_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 5_000;
/** Highest unit price an operator may set, in cents: keeps every order line and total far within int32. */
export const MAX_UNIT_PRICE_CENTS = 100_000_000;
export const MAX_CATEGORIES = 20;
export const MAX_IMAGE_URLS = 10;
export const MAX_IMAGE_URL_LENGTH = 2_000;
const currencyPattern = /^[A-Z]{3}$/;
/** An absolute http(s) URL or an edge-relative path; no spaces or control characters. */
const imageUrlPattern = /^(https?:\/\/[^\s/]+|\/)[^\s\p{Cc}]*$/u;

const characters = (s: string) => [...s].length;

/** The fields of CreateProduct and UpdateProduct, every bad one named; `v` collects the violations. */
function parseProductFields(
  v: ReturnType<typeof violations>,
  req: {
    name: string;
    description: string;
    priceCents: number;
    currency: string;
    categories: readonly string[];
    imageUrls: readonly string[];
  },
): ProductFields {
  const name = req.name.trim();
  v.check(name !== "", "name", "is required");
  v.check(characters(name) <= MAX_NAME_LENGTH, "name", `at most ${MAX_NAME_LENGTH} characters`);
  const description = req.description.trim();
  v.check(characters(description) <= MAX_DESCRIPTION_LENGTH, "description", `at most ${MAX_DESCRIPTION_LENGTH} characters`);
  v.check(
    Number.isInteger(req.priceCents) && req.priceCents >= 1 && req.priceCents <= MAX_UNIT_PRICE_CENTS,
    "price_cents",
    `must be between 1 and ${MAX_UNIT_PRICE_CENTS}, got ${req.priceCents}`,
  );
  v.check(currencyPattern.test(req.currency), "currency", 'must be an ISO 4217 code such as "EUR"');
  if (v.check(req.categories.length <= MAX_CATEGORIES, "categories", `at most ${MAX_CATEGORIES}, got ${req.categories.length}`)) {
    const seen = new Set<string>();
    req.categories.forEach((c, i) => {
      if (v.check(categoryPattern.test(c), `categories[${i}]`, 'must be a lowercase slug such as "kitchen"')) {
        if (v.check(!seen.has(c), `categories[${i}]`, `${c} is listed more than once`)) seen.add(c);
      }
    });
  }
  if (v.check(req.imageUrls.length <= MAX_IMAGE_URLS, "image_urls", `at most ${MAX_IMAGE_URLS}, got ${req.imageUrls.length}`)) {
    req.imageUrls.forEach((url, i) => {
      v.check(
        url.length <= MAX_IMAGE_URL_LENGTH && imageUrlPattern.test(url),
        `image_urls[${i}]`,
        `must be an http(s) URL or a path starting with "/", at most ${MAX_IMAGE_URL_LENGTH} characters`,
      );
    });
  }
  return {
    name,
    description,
    priceCents: req.priceCents,
    currency: req.currency,
    categories: [...req.categories],
    imageUrls: [...req.imageUrls],
  };
}

/** A version the caller read: a whole number of at least 1. */
function parseExpectedVersion(v: ReturnType<typeof violations>, raw: bigint): number {
  if (!v.check(raw >= 1n, "expected_version", raw === 0n ? "is required" : `must be at least 1, got ${raw}`)) return 0;
  if (!v.check(raw <= BigInt(Number.MAX_SAFE_INTEGER), "expected_version", `is not a version of any product, got ${raw}`)) return 0;
  return Number(raw);
}

type ProductFieldsRequest = Parameters<typeof parseProductFields>[1];

/** CreateProduct: the id, every field, and an initial stock of 0..1,000,000; every bad field named. */
export function parseCreateProduct(req: ProductFieldsRequest & { id: string; initialStock: number }): {
  id: string;
  fields: ProductFields;
  initialStock: number;
} {
  const v = violations();
  const id = v.parse(() => parseProductId("id", req.id), "");
  const fields = parseProductFields(v, req);
  v.check(
    Number.isInteger(req.initialStock) && req.initialStock >= 0 && req.initialStock <= MAX_ADJUSTMENT,
    "initial_stock",
    `must be between 0 and ${MAX_ADJUSTMENT}, got ${req.initialStock}`,
  );
  v.throwIfAny();
  return { id, fields, initialStock: req.initialStock };
}

/** UpdateProduct: the id, the version read, and every field; every bad field named. */
export function parseUpdateProduct(req: ProductFieldsRequest & { id: string; expectedVersion: bigint }): {
  id: string;
  expectedVersion: number;
  fields: ProductFields;
} {
  const v = violations();
  const id = v.parse(() => parseProductId("id", req.id), "");
  const expectedVersion = parseExpectedVersion(v, req.expectedVersion);
  const fields = parseProductFields(v, req);
  v.throwIfAny();
  return { id, expectedVersion, fields };
}

/** ArchiveProduct: the id, the version read, and a reason ("unspecified" when empty). */
export function parseArchiveProduct(req: { id: string; expectedVersion: bigint; reason: string }): {
  id: string;
  expectedVersion: number;
  reason: string;
} {
  const v = violations();
  const id = v.parse(() => parseProductId("id", req.id), "");
  const expectedVersion = parseExpectedVersion(v, req.expectedVersion);
  const reason = v.parse(() => parseReason("reason", req.reason, "unspecified"), "");
  v.throwIfAny();
  return { id, expectedVersion, reason };
}
