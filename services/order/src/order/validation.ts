import { invalidArgument, normalizeCardNumber, violations } from "@shopmesh/platform";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const printableAscii = /^[\x20-\x7e]{1,128}$/;

/** An order id: a UUID, lowercased. */
export function parseOrderId(field: string, raw: string): string {
  if (raw === "") throw invalidArgument(field, "is required");
  if (!uuid.test(raw)) throw invalidArgument(field, "must be a UUID");
  return raw.toLowerCase();
}

/** Order ids of a list, each checked, duplicates dropped (first occurrence kept). */
export function parseOrderIds(field: string, raw: readonly string[]): string[] {
  return [...new Set(raw.map((id, i) => parseOrderId(`${field}[${i}]`, id)))];
}

/** An idempotency key: 1..128 printable ASCII characters; undefined when not given. */
export function parseIdempotencyKey(raw: string): string | undefined {
  if (raw === "") return undefined;
  if (!printableAscii.test(raw)) throw invalidArgument("idempotency_key", "must be 1 to 128 printable ASCII characters");
  return raw;
}

/**
 * The digits of a card number (spaces and dashes dropped), undefined when none was given. The
 * message of a malformed one does not repeat it: error messages are logged.
 */
export function parseCardNumber(field: string, raw: string): string | undefined {
  if (raw === "") return undefined;
  const digits = normalizeCardNumber(raw);
  if (digits === undefined) throw invalidArgument(field, "must be 12 to 19 digits passing the Luhn check");
  return digits;
}

/** A page size: 0 means `fallback`; otherwise 1..`max`. */
export function parsePageSize(raw: number, fallback: number, max: number): number {
  if (!Number.isInteger(raw) || raw < 0 || raw > max) {
    throw invalidArgument("page_size", `must be between 1 and ${max} (0 for ${fallback}), got ${raw}`);
  }
  return raw === 0 ? fallback : raw;
}

export function parseUserId(field: string, raw: string): string | undefined {
  if (raw === "") return undefined;
  if (raw.trim() === "" || raw.length > 200) throw invalidArgument(field, "must be a user id");
  return raw;
}

/** A PlaceOrder request: every bad field is named in one INVALID_ARGUMENT. */
export function parsePlaceOrder(req: { idempotencyKey: string; payment?: { cardNumber: string } }): {
  idempotencyKey: string | undefined;
  cardDigits: string | undefined;
} {
  const v = violations();
  const idempotencyKey = v.parse(() => parseIdempotencyKey(req.idempotencyKey), undefined);
  const cardDigits = v.parse(() => parseCardNumber("payment.card_number", req.payment?.cardNumber ?? ""), undefined);
  v.throwIfAny();
  return { idempotencyKey, cardDigits };
}
