import { invalidArgument } from "@shopmesh/platform";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const currency = /^[A-Z]{3}$/;
const token = /^pm_[A-Za-z0-9_]{1,64}$/;

export function requireText(field: string, value: string, max = 200): string {
  const v = value.trim();
  if (!v) throw invalidArgument(field, "is required");
  if (v.length > max) throw invalidArgument(field, `at most ${max} characters`);
  return v;
}

export function requireUuid(field: string, value: string): string {
  if (!uuid.test(value)) throw invalidArgument(field, "must be a UUID");
  return value.toLowerCase();
}

export function requireCurrency(value: string): string {
  if (!currency.test(value)) throw invalidArgument("currency", "must be an ISO 4217 code such as EUR");
  return value;
}

export function requirePositiveAmount(value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw invalidArgument("amount_cents", "must be greater than 0");
  return value;
}

/** Empty (the default test card) or a `pm_` token. */
export function requirePaymentMethod(value: string): string {
  if (value !== "" && !token.test(value)) throw invalidArgument("payment_method", "must be a token from TokenizeCard");
  return value;
}
