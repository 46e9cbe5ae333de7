import { invalidArgument, violations } from "@shopmesh/platform";
import { decodePageToken } from "./page-token.js";
import type { PageCursor } from "./product.js";
import type { StockItem } from "./reservation.js";

/**
 * Request validation: each function returns the narrowed value or throws INVALID_ARGUMENT
 * naming the offending field (proto field names, as callers see them).
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

/** Product ids, de-duplicated in the order given. */
export function parseProductIds(field: string, raw: readonly string[], max: number): string[] {
  if (raw.length === 0) throw invalidArgument(field, "needs at least one id");
  if (raw.length > max) throw invalidArgument(field, `at most ${max} ids, got ${raw.length}`);
  const ids = raw.map((id, i) => parseProductId(`${field}[${i}]`, id));
  return [...new Set(ids)];
}

export function parseOrderId(raw: string): string {
  if (raw === "") throw invalidArgument("order_id", "is required");
  if (!orderIdPattern.test(raw)) throw invalidArgument("order_id", "must be 1..128 printable ASCII characters");
  return raw;
}

export function parseStockItems(raw: readonly { productId: string; quantity: number }[]): StockItem[] {
  if (raw.length === 0) throw invalidArgument("items", "needs at least one item");
  if (raw.length > MAX_RESERVATION_ITEMS) throw invalidArgument("items", `at most ${MAX_RESERVATION_ITEMS} items, got ${raw.length}`);
  const seen = new Set<string>();
  return raw.map((it, i) => {
    const productId = parseProductId(`items[${i}].product_id`, it.productId);
    if (seen.has(productId)) throw invalidArgument(`items[${i}].product_id`, `${productId} is listed more than once`);
    seen.add(productId);
    if (!Number.isInteger(it.quantity) || it.quantity < 1 || it.quantity > MAX_ITEM_QUANTITY) {
      throw invalidArgument(`items[${i}].quantity`, `must be between 1 and ${MAX_ITEM_QUANTITY}, got ${it.quantity}`);
    }
    return { productId, quantity: it.quantity };
  });
}

export function parseDelta(raw: number): number {
  if (raw === 0) throw invalidArgument("delta", "must not be zero");
  if (!Number.isInteger(raw) || Math.abs(raw) > MAX_ADJUSTMENT) {
    throw invalidArgument("delta", `must be a non-zero integer within ±${MAX_ADJUSTMENT}, got ${raw}`);
  }
  return raw;
}

/** A free-text reason, trimmed; `fallback` when empty. */
export function parseReason(field: string, raw: string, fallback: string): string {
  const reason = raw.trim();
  if (reason.length > 200) throw invalidArgument(field, "at most 200 characters");
  return reason === "" ? fallback : reason;
}

/** ListProducts: every bad field at once. */
export function parseListProducts(req: { pageSize: number; pageToken: string; category: string }): {
  pageSize: number;
  after: PageCursor | undefined;
  category: string | undefined;
} {
  const v = violations();
  const pageSize = v.parse(() => parsePageSize(req.pageSize), DEFAULT_PAGE_SIZE);
  const after = v.parse(() => decodePageToken(req.pageToken), undefined);
  const category = v.parse(() => parseCategory(req.category), undefined);
  v.throwIfAny();
  return { pageSize, after, category };
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
