import type { DeadLettersTable, InboxTable, OutboxTable } from "@shopmesh/platform";
import type { OrderStatus, StatusOrNone } from "../domain/order.js";

export interface OrdersTable {
  /** UUIDv7 made from created_at, so (created_at, id) pages exactly. */
  id: string;
  user_id: string;
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

export interface OrderDb {
  orders: OrdersTable;
  order_items: OrderItemsTable;
  order_transitions: OrderTransitionsTable;
  outbox: OutboxTable;
  inbox: InboxTable;
  dead_letters: DeadLettersTable;
}
