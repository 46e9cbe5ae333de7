import { invalidArgument, violations } from "@shopmesh/platform";
import { MAX_QUANTITY, MIN_QUANTITY } from "./cart.js";

// The catalog's product id syntax: an id it could never know is refused here without asking it.
const productIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

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
  if (raw.length > 200) throw invalidArgument(field, "is too long");
  return raw;
}

/** An item to put in the cart (AddItem, UpdateItem): every bad field is named in one INVALID_ARGUMENT. */
export function parseItem(req: { productId: string; qty: number }): { productId: string; qty: number } {
  const v = violations();
  const productId = v.parse(() => parseProductId("product_id", req.productId), "");
  const qty = v.parse(() => parseQuantity("qty", req.qty), 0);
  v.throwIfAny();
  return { productId, qty };
}
