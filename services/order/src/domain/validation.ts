import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { decodeKeysetToken, invalidArgument, type KeysetCursor, normalizeCardNumber, violations } from "@shopmesh/platform";
import { OrderStatus as ProtoStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import type { AllOrdersQuery, OrderStatus } from "./order.js";
import type { RefundLine } from "./order.js";

/**
 * Every request rule of OrderService. Each RPC has one `parseX(req)` that names every bad
 * field in one INVALID_ARGUMENT (one field violation each, proto field names) and returns
 * the narrowed request; handlers call it and check nothing themselves.
 */

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** Page sizes of ListAllOrders (internal). */
export const DEFAULT_ALL_PAGE_SIZE = 100;
export const MAX_ALL_PAGE_SIZE = 500;

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const printableAscii = /^[\x20-\x7e]{1,128}$/;

/** An order id: a UUID, lowercased. */
export function parseOrderId(field: string, raw: string): string {
  if (raw === "") throw invalidArgument(field, "is required");
  if (!uuid.test(raw)) throw invalidArgument(field, "must be a UUID");
  return raw.toLowerCase();
}

/** Order ids of a list, each checked (every bad one named), duplicates dropped (first occurrence kept). */
export function parseOrderIds(field: string, raw: readonly string[]): string[] {
  const v = violations();
  const ids = raw.map((id, i) => v.parse(() => parseOrderId(`${field}[${i}]`, id), ""));
  v.throwIfAny();
  return [...new Set(ids)];
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

/** A wire status as a domain one; undefined for UNSPECIFIED and values this build does not know. */
function fromProtoStatus(status: ProtoStatus): OrderStatus | undefined {
  switch (status) {
    case ProtoStatus.PENDING:
      return "PENDING";
    case ProtoStatus.STOCK_RESERVED:
      return "STOCK_RESERVED";
    case ProtoStatus.PAID:
      return "PAID";
    case ProtoStatus.CANCELLED:
      return "CANCELLED";
    case ProtoStatus.ON_HOLD:
      return "ON_HOLD";
    case ProtoStatus.PARTIALLY_REFUNDED:
      return "PARTIALLY_REFUNDED";
    case ProtoStatus.REFUNDED:
      return "REFUNDED";
    default:
      return undefined;
  }
}

/** Order statuses to filter by, every unknown or UNSPECIFIED one named by its index. */
export function parseStatuses(field: string, raw: readonly ProtoStatus[]): OrderStatus[] {
  const v = violations();
  const statuses: OrderStatus[] = [];
  raw.forEach((s, i) => {
    const status = fromProtoStatus(s);
    if (status === undefined) v.add(`${field}[${i}]`, `is not an order status: ${s}`);
    else statuses.push(status);
  });
  v.throwIfAny();
  return statuses;
}

// google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;

/** A time, undefined when unset; INVALID_ARGUMENT outside google.protobuf.Timestamp's range. */
export function parseTimestamp(field: string, raw: Timestamp | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  const { seconds, nanos } = raw;
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw invalidArgument(field, "must be a valid timestamp (0001-01-01 to 9999-12-31, nanos 0..999999999)");
  }
  return timestampDate(raw);
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

/** GetOrder. */
export function parseGetOrder(req: { id: string }): { id: string } {
  const v = violations();
  const id = v.parse(() => parseOrderId("id", req.id), "");
  v.throwIfAny();
  return { id };
}

/** ListOrders; the page token is decoded here so that its violation joins the others. */
export function parseListOrders(req: { pageSize: number; pageToken: string }): { pageSize: number; after: KeysetCursor | undefined } {
  const v = violations();
  const pageSize = v.parse(() => parsePageSize(req.pageSize, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE), DEFAULT_PAGE_SIZE);
  const after = v.parse(() => decodeKeysetToken(req.pageToken), undefined);
  v.throwIfAny();
  return { pageSize, after };
}

/** One client message of WatchOrders. */
export function parseWatchOrders(req: { addOrderIds: readonly string[]; removeOrderIds: readonly string[] }): {
  add: string[];
  remove: string[];
} {
  const v = violations();
  const add = v.parse(() => parseOrderIds("add_order_ids", req.addOrderIds), []);
  const remove = v.parse(() => parseOrderIds("remove_order_ids", req.removeOrderIds), []);
  v.throwIfAny();
  return { add, remove };
}

/** GetAnyOrder (operators). */
export function parseGetAnyOrder(req: { orderId: string }): { orderId: string } {
  const v = violations();
  const orderId = v.parse(() => parseOrderId("order_id", req.orderId), "");
  v.throwIfAny();
  return { orderId };
}

/** Most characters of a refund's reason. */
export const MAX_REFUND_REASON = 200;
const productIdPattern = /^[\x21-\x7e]{1,64}$/;

/** A RefundOrder request as validation narrowed it. */
export interface RefundRequest {
  readonly orderId: string;
  /** Empty: everything not refunded yet. */
  readonly lines: readonly RefundLine[];
  readonly restock: boolean;
  readonly reason: string;
  readonly refundId: string | undefined;
}

/** RefundOrder (operators): every bad field named in one INVALID_ARGUMENT. */
export function parseRefundOrder(req: {
  orderId: string;
  lines: readonly { productId: string; quantity: number }[];
  restock: boolean;
  reason: string;
  refundId: string;
}): RefundRequest {
  const v = violations();
  const orderId = v.parse(() => parseOrderId("order_id", req.orderId), "");
  const reason = req.reason.trim();
  v.check(reason !== "", "reason", "is required");
  v.check(reason.length <= MAX_REFUND_REASON, "reason", `must be at most ${MAX_REFUND_REASON} characters`);
  v.check(req.lines.length <= 100, "lines", "must hold at most 100 lines");
  req.lines.forEach((l, i) => {
    v.check(productIdPattern.test(l.productId), `lines[${i}].product_id`, "must be a product id");
    v.check(Number.isInteger(l.quantity) && l.quantity >= 1 && l.quantity <= 99, `lines[${i}].quantity`, "must be between 1 and 99");
  });
  const refundId = req.refundId === "" ? undefined : req.refundId;
  v.check(refundId === undefined || printableAscii.test(refundId), "refund_id", "must be 1 to 128 printable ASCII characters");
  v.throwIfAny();
  return {
    orderId,
    lines: req.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    restock: req.restock,
    reason,
    refundId,
  };
}

/** StreamOrders: at least one id. More than the watch limit is RESOURCE_EXHAUSTED from the watch, not a violation. */
export function parseStreamOrders(req: { orderIds: readonly string[]; followRefunds?: boolean }): {
  orderIds: string[];
  followRefunds: boolean;
} {
  const v = violations();
  v.check(req.orderIds.length > 0, "order_ids", "at least one order id is required");
  const orderIds = v.parse(() => parseOrderIds("order_ids", req.orderIds), []);
  v.throwIfAny();
  return { orderIds, followRefunds: req.followRefunds === true };
}

/** ListAllOrders (internal). */
export function parseListAllOrders(req: {
  pageSize: number;
  pageToken: string;
  statuses: readonly ProtoStatus[];
  updatedBefore?: Timestamp | undefined;
  userId: string;
  email: string;
}): AllOrdersQuery {
  const v = violations();
  const pageSize = v.parse(() => parsePageSize(req.pageSize, DEFAULT_ALL_PAGE_SIZE, MAX_ALL_PAGE_SIZE), DEFAULT_ALL_PAGE_SIZE);
  const after = v.parse(() => decodeKeysetToken(req.pageToken), undefined);
  const statuses = v.parse(() => parseStatuses("statuses", req.statuses), []);
  const updatedBefore = v.parse(() => parseTimestamp("updated_before", req.updatedBefore), undefined);
  const userId = v.parse(() => parseUserId("user_id", req.userId), undefined);
  const email = v.parse(() => parseEmailFilter("email", req.email), undefined);
  v.throwIfAny();
  return { pageSize, after, statuses, updatedBefore, userId, email };
}

/** An email address to filter by: at most 254 characters, one "@", no spaces; undefined when empty. */
export function parseEmailFilter(field: string, raw: string): string | undefined {
  const email = raw.trim();
  if (email === "") return undefined;
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(email)) throw invalidArgument(field, "must be an email address");
  return email;
}

/** Longest reason an operator may give for cancelling an order. */
export const MAX_CANCEL_REASON = 200;

/** CancelOrder: the order and why, 1..200 characters (trimmed). */
export function parseCancelOrder(req: { orderId: string; reason: string }): { orderId: string; reason: string } {
  const v = violations();
  const orderId = v.parse(() => parseOrderId("order_id", req.orderId), "");
  const reason = v.parse(() => {
    const r = req.reason.trim();
    if (r === "") throw invalidArgument("reason", "is required");
    if (r.length > MAX_CANCEL_REASON) throw invalidArgument("reason", `at most ${MAX_CANCEL_REASON} characters`);
    return r;
  }, "");
  v.throwIfAny();
  return { orderId, reason };
}
