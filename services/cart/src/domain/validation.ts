import { invalidArgument, violations } from "@shopmesh/platform";
import { MAX_QUANTITY, MIN_QUANTITY } from "./cart.js";

/**
 * Every request rule of CartService. Each RPC with fields has one `parseX(req)` that names every
 * bad field in one INVALID_ARGUMENT (one field violation each, proto field names) and returns the
 * narrowed request; handlers call it and check nothing themselves.
 */

// The catalog's product id syntax: an id it could never know is refused here without asking it.
const productIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const MAX_USER_ID_LENGTH = 200;

export function parseProductId(field: string, raw: string): string {
  if (raw === "") throw invalidArgument(field, "is required");
  if (!productIdPattern.test(raw)) throw invalidArgument(field, "is not a valid product id");
  return raw;
}

export function parseQuantity(field: string, raw: number): number {
  if (!Number.isInteger(raw) || raw < MIN_QUANTITY || raw > MAX_QUANTITY) {
    throw invalidArgument(field, `must be from ${MIN_QUANTITY} to ${MAX_QUANTITY}, got ${raw}`);
  }
  return raw;
}

export function parseUserId(field: string, raw: string): string {
  if (raw.trim() === "") throw invalidArgument(field, "is required");
  if (raw.length > MAX_USER_ID_LENGTH) throw invalidArgument(field, `at most ${MAX_USER_ID_LENGTH} characters`);
  return raw;
}

/** A product id and a quantity, both checked. */
function parseItem(req: { productId: string; qty: number }): { productId: string; qty: number } {
  const v = violations();
  const productId = v.parse(() => parseProductId("product_id", req.productId), "");
  const qty = v.parse(() => parseQuantity("qty", req.qty), 0);
  v.throwIfAny();
  return { productId, qty };
}

/** AddItem: the product and the units to add. */
export const parseAddItem = parseItem;

/** UpdateItem: the product of a line and its new quantity; the same rules as AddItem. */
export const parseUpdateItem = parseItem;

/** RemoveItem: the product of the line to drop. */
export function parseRemoveItem(req: { productId: string }): { productId: string } {
  const v = violations();
  const productId = v.parse(() => parseProductId("product_id", req.productId), "");
  v.throwIfAny();
  return { productId };
}

/** GetUserCart (internal): whose cart. */
export function parseGetUserCart(req: { userId: string }): { userId: string } {
  const v = violations();
  const userId = v.parse(() => parseUserId("user_id", req.userId), "");
  v.throwIfAny();
  return { userId };
}
