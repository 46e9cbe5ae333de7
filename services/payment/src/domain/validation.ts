import { decodeKeysetToken, invalidArgument, normalizeCardNumber, violations } from "@shopmesh/platform";
import { type GetPaymentRequest, PaymentStatus as ProtoStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import type { ChargeIntent, ListQuery, PaymentStatus } from "./payment.js";

/**
 * Every request rule of PaymentService: one `parseX` per RPC returns the request narrowed for
 * the use case, or throws one INVALID_ARGUMENT with a field violation for each bad field (proto
 * field paths, as callers see them). Handlers validate nothing else.
 */

const MAX_PAGE_SIZE = 500;
const MAX_TEXT = 200;

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const currency = /^[A-Z]{3}$/;
const token = /^pm_[A-Za-z0-9_]{1,64}$/;

/** Trimmed, non-empty, at most `MAX_TEXT` characters. */
function requireText(field: string, value: string): string {
  const v = value.trim();
  if (!v) throw invalidArgument(field, "is required");
  if (v.length > MAX_TEXT) throw invalidArgument(field, `at most ${MAX_TEXT} characters`);
  return v;
}

/** Trimmed, possibly empty, at most `MAX_TEXT` characters. */
function optionalText(field: string, value: string): string {
  const v = value.trim();
  if (v.length > MAX_TEXT) throw invalidArgument(field, `at most ${MAX_TEXT} characters`);
  return v;
}

function requireUuid(field: string, value: string): string {
  if (!uuid.test(value)) throw invalidArgument(field, "must be a UUID");
  return value.toLowerCase();
}

function requireCurrency(value: string): string {
  if (!currency.test(value)) throw invalidArgument("currency", "must be an ISO 4217 code such as EUR");
  return value;
}

function requirePositiveAmount(value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw invalidArgument("amount_cents", "must be greater than 0");
  return value;
}

/** Empty (the default test card) or a `pm_` token. */
function requirePaymentMethod(value: string): string {
  if (value !== "" && !token.test(value)) throw invalidArgument("payment_method", "must be a token from TokenizeCard");
  return value;
}

/** Charge: what to charge for the order. */
export function parseCharge(req: {
  orderId: string;
  userId: string;
  amountCents: number;
  currency: string;
  paymentMethod: string;
}): ChargeIntent {
  const v = violations();
  const orderId = v.parse(() => requireText("order_id", req.orderId), "");
  const userId = v.parse(() => requireText("user_id", req.userId), "");
  const amountCents = v.parse(() => requirePositiveAmount(req.amountCents), 0);
  const currency = v.parse(() => requireCurrency(req.currency), "");
  const paymentMethod = v.parse(() => requirePaymentMethod(req.paymentMethod), "");
  v.throwIfAny();
  return { orderId, userId, amountCents, currency, paymentMethod };
}

/** Refund: the order and why (trimmed, may be empty). */
export function parseRefund(req: { orderId: string; reason: string }): { orderId: string; reason: string } {
  const v = violations();
  const orderId = v.parse(() => requireText("order_id", req.orderId), "");
  const reason = v.parse(() => optionalText("reason", req.reason), "");
  v.throwIfAny();
  return { orderId, reason };
}

/** GetPayment: exactly one of id (a UUID, lowercased) and order_id. */
export function parseGetPayment(req: { lookup: GetPaymentRequest["lookup"] }): { id: string } | { orderId: string } {
  const { lookup } = req;
  switch (lookup.case) {
    case "id":
      return { id: requireUuid("id", lookup.value) };
    case "orderId":
      return { orderId: requireText("order_id", lookup.value) };
    case undefined:
      throw invalidArgument("lookup", "give id or order_id");
    default: {
      const never: never = lookup;
      throw invalidArgument("lookup", `unknown case ${String(never)}`);
    }
  }
}

/**
 * TokenizeCard: the digits of the card number (spaces and dashes dropped). The message does not
 * repeat the number: error messages are logged.
 */
export function parseTokenizeCard(req: { cardNumber: string }): { digits: string } {
  const digits = normalizeCardNumber(req.cardNumber);
  if (digits === undefined) throw invalidArgument("card_number", "must be 12 to 19 digits passing the Luhn check");
  return { digits };
}

/** A wire status as a domain one; undefined for UNSPECIFIED or unknown values. */
function fromProtoStatus(status: ProtoStatus): PaymentStatus | undefined {
  switch (status) {
    case ProtoStatus.PENDING:
      return "PENDING";
    case ProtoStatus.SUCCEEDED:
      return "SUCCEEDED";
    case ProtoStatus.FAILED:
      return "FAILED";
    case ProtoStatus.REFUNDED:
      return "REFUNDED";
    default:
      return undefined;
  }
}

/** ListPayments: page size 0..500 (0 for the default), a token of a previous page, known statuses, filters of sane length. */
export function parseListPayments(req: {
  pageSize: number;
  pageToken: string;
  statuses: readonly ProtoStatus[];
  orderId: string;
  userId: string;
}): ListQuery {
  const v = violations();
  v.check(
    Number.isInteger(req.pageSize) && req.pageSize >= 0 && req.pageSize <= MAX_PAGE_SIZE,
    "page_size",
    `must be 0 to ${MAX_PAGE_SIZE}`,
  );
  v.parse(() => decodeKeysetToken(req.pageToken), undefined);
  const statuses = req.statuses.flatMap((s, i): PaymentStatus[] => {
    const name = fromProtoStatus(s);
    v.check(name !== undefined, `statuses[${i}]`, `unknown status ${s}`);
    return name ? [name] : [];
  });
  const orderId = v.parse(() => optionalText("order_id", req.orderId), "");
  const userId = v.parse(() => optionalText("user_id", req.userId), "");
  v.throwIfAny();
  return { pageSize: req.pageSize, pageToken: req.pageToken, statuses, orderId, userId };
}
