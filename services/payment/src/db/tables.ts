import type { Generated } from "kysely";
import type { DeadLettersTable, InboxTable, OutboxTable } from "@shopmesh/platform";

export type PaymentStatusName = "PENDING" | "SUCCEEDED" | "FAILED" | "REFUNDED";

/** One payment per order (order_id is unique): the guard against charging an order twice. */
export interface PaymentsTable {
  /** UUIDv7 made from created_at, so (created_at, id) pages exactly. */
  id: string;
  order_id: string;
  user_id: string;
  amount_cents: number;
  currency: string;
  payment_method: string;
  card_last4: string;
  status: PaymentStatusName;
  failure_reason: string | null;
  refund_reason: string | null;
  /** Amount refunded so far, 0..amount_cents. */
  refunded_cents: Generated<number>;
  /** Provider calls made, retries included. */
  attempts: number;
  provider_charge_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * What the saga has heard of an order: OrderPlaced (what to charge) and the catalog's answer.
 * A payment is created once both say so, whichever came first.
 */
export interface CheckoutsTable {
  order_id: string;
  placed: boolean;
  user_id: string | null;
  amount_cents: number | null;
  currency: string | null;
  payment_method: string | null;
  /** "reserved" or "rejected"; null until the catalog answered. Rejected is final. */
  stock: "reserved" | "rejected" | null;
  updated_at: Date;
}

/** Cards tokenized here (never the number). */
export interface PaymentMethodsTable {
  token: string;
  brand: string;
  last4: string;
  created_at: Date;
}

/**
 * The fake provider's own memory of idempotency keys. Written outside our transactions, as a
 * real provider's would be: it survives our rollbacks and crashes.
 */
export interface ProviderLedgerTable {
  idempotency_key: string;
  calls: number;
  /** JSON of the settled ChargeOutcome; null while unsettled. */
  outcome: string | null;
  created_at: Date;
}

/** Each refund of a payment, once: by the order's refund id ("" for a refund of the rest, Refund). */
export interface PaymentRefundsTable {
  order_id: string;
  refund_id: string;
  amount_cents: number;
  created_at: Date;
}

export interface PaymentDb {
  payment_refunds: PaymentRefundsTable;
  payments: PaymentsTable;
  checkouts: CheckoutsTable;
  payment_methods: PaymentMethodsTable;
  provider_ledger: ProviderLedgerTable;
  outbox: OutboxTable;
  inbox: InboxTable;
  dead_letters: DeadLettersTable;
}
