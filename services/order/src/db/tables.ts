import type { DeadLettersTable, InboxTable, OutboxTable } from "@shopmesh/platform";
import type { ColumnType } from "kysely";
import type { OrderStatus, StatusOrNone } from "../domain/order.js";
import type { RefundLine } from "../domain/order.js";

export interface OrdersTable {
  /** UUIDv7 made from created_at, so (created_at, id) pages exactly. */
  id: string;
  user_id: string;
  /** The shopper's email address, from the token the order was placed with; '' when it had none. */
  email: ColumnType<string, string | undefined, string>;
  /** The client's key; unique per user (null keys never conflict). */
  idempotency_key: string | null;
  /** Token from PaymentService.TokenizeCard ("" for the default card); never a card number. */
  payment_method: string;
  status: OrderStatus;
  cancel_reason: string | null;
  payment_id: string | null;
  total_cents: number;
  currency: string;
  /** Number of transitions so far: the `seq` of the latest one. */
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** A product line, priced when the order was placed. */
export interface OrderItemsTable {
  order_id: string;
  /** 1.., in the order of the cart. */
  line_no: number;
  product_id: string;
  name: string;
  unit_price_cents: number;
  quantity: number;
  line_total_cents: number;
}

/** The status history: one row per transition, `seq` 1 being UNSPECIFIED → PENDING. */
export interface OrderTransitionsTable {
  order_id: string;
  seq: number;
  from_status: StatusOrNone;
  to_status: OrderStatus;
  reason: string;
  at: Date;
}

/** Refunds asked for by operators; `refunded_at` set once the payment refunded them. */
export interface OrderRefundsTable {
  order_id: string;
  /** The caller's refund_id, or a UUID; unique per order. */
  id: string;
  /** JSON array of {productId, quantity}. */
  lines: ColumnType<RefundLine[], string, string>;
  amount_cents: number;
  restock: boolean;
  reason: string;
  requested_at: Date;
  refunded_at: Date | null;
}

export interface OrderDb {
  orders: OrdersTable;
  order_items: OrderItemsTable;
  order_transitions: OrderTransitionsTable;
  order_refunds: OrderRefundsTable;
  outbox: OutboxTable;
  inbox: InboxTable;
  dead_letters: DeadLettersTable;
}
