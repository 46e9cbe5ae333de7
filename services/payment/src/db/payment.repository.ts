import { type Envelope, withDbErrors, withInboxClaim } from "@shopmesh/platform";
import type { Kysely, Selectable } from "kysely";
import type { PaymentDb, PaymentsTable } from "./tables.js";
import type { FailureReason, Payment } from "../domain/payment.js";

type Db = Kysely<PaymentDb>;

export function toPayment(row: Selectable<PaymentsTable>): Payment {
  return {
    id: row.id,
    orderId: row.order_id,
    userId: row.user_id,
    amountCents: row.amount_cents,
    currency: row.currency,
    status: row.status,
    failureReason: (row.failure_reason ?? undefined) as FailureReason | undefined,
    refundReason: row.refund_reason ?? undefined,
    refundedCents: row.refunded_cents,
    cardLast4: row.card_last4,
    attempts: row.attempts,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/**
 * Inserts a PENDING payment unless the order has one; returns the order's payment, the
 * payment method it charges and whether it is new.
 */
export async function insertPendingPayment(
  db: Db,
  values: Omit<
    PaymentsTable,
    "status" | "failure_reason" | "refund_reason" | "refunded_cents" | "attempts" | "provider_charge_id" | "updated_at"
  >,
): Promise<{ payment: Payment; paymentMethod: string; created: boolean }> {
  return withDbErrors(async () => {
    const inserted = await db
      .insertInto("payments")
      .values({ ...values, status: "PENDING", attempts: 0, updated_at: values.created_at })
      .onConflict((oc) => oc.column("order_id").doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { payment: toPayment(inserted), paymentMethod: inserted.payment_method, created: true };
    const existing = await findChargeByOrderId(db, values.order_id);
    if (!existing) throw new Error(`payment of order ${values.order_id} vanished`);
    return { ...existing, created: false };
  });
}

/** The order's payment and the payment method it charges. */
export async function findChargeByOrderId(db: Db, orderId: string): Promise<{ payment: Payment; paymentMethod: string } | undefined> {
  return withDbErrors(async () => {
    const row = await db.selectFrom("payments").selectAll().where("order_id", "=", orderId).executeTakeFirst();
    return row && { payment: toPayment(row), paymentMethod: row.payment_method };
  });
}

export async function findByOrderId(db: Db, orderId: string, opts: { forUpdate?: boolean } = {}): Promise<Payment | undefined> {
  return withDbErrors(async () => {
    let q = db.selectFrom("payments").selectAll().where("order_id", "=", orderId);
    if (opts.forUpdate) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && toPayment(row);
  });
}

export async function findById(db: Db, id: string): Promise<Payment | undefined> {
  return withDbErrors(async () => {
    const row = await db.selectFrom("payments").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toPayment(row);
  });
}

export async function updatePayment(
  db: Db,
  orderId: string,
  set: Partial<Pick<PaymentsTable, "status" | "failure_reason" | "refund_reason" | "attempts" | "provider_charge_id" | "card_last4">> & {
    refunded_cents?: number;
  },
  now: Date,
): Promise<Payment> {
  return withDbErrors(async () => {
    const row = await db
      .updateTable("payments")
      .set({ ...set, updated_at: now })
      .where("order_id", "=", orderId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toPayment(row);
  });
}

/**
 * Moves the order's PENDING payment to its final state, adding `calls` to its attempts;
 * undefined when it is not PENDING (or there is none).
 */
export async function finishPending(
  db: Db,
  orderId: string,
  set: Pick<PaymentsTable, "status" | "card_last4"> & Partial<Pick<PaymentsTable, "failure_reason" | "provider_charge_id">>,
  calls: number,
  now: Date,
): Promise<Payment | undefined> {
  return withDbErrors(async () => {
    const row = await db
      .updateTable("payments")
      .set((eb) => ({ ...set, attempts: eb("attempts", "+", calls), updated_at: now }))
      .where("order_id", "=", orderId)
      .where("status", "=", "PENDING")
      .returningAll()
      .executeTakeFirst();
    return row && toPayment(row);
  });
}

export async function pendingOrderIds(db: Db): Promise<string[]> {
  return withDbErrors(async () => {
    const rows = await db.selectFrom("payments").select("order_id").where("status", "=", "PENDING").orderBy("created_at").execute();
    return rows.map((r) => r.order_id);
  });
}

export interface ListFilter {
  readonly limit: number;
  readonly after: { createdAt: Date; id: string } | undefined;
  readonly statuses: readonly PaymentsTable["status"][];
  readonly orderId: string | undefined;
  readonly userId: string | undefined;
}

/** Payments oldest first by (created_at, id); `limit + 1` rows so the caller sees whether more follow. */
export async function listPayments(db: Db, f: ListFilter): Promise<Payment[]> {
  return withDbErrors(async () => {
    let q = db.selectFrom("payments").selectAll();
    if (f.statuses.length > 0) q = q.where("status", "in", [...f.statuses]);
    if (f.orderId) q = q.where("order_id", "=", f.orderId);
    if (f.userId) q = q.where("user_id", "=", f.userId);
    const after = f.after;
    if (after) {
      q = q.where((eb) => eb(eb.refTuple("created_at", "id"), ">", eb.tuple(after.createdAt, after.id)));
    }
    const rows = await q
      .orderBy("created_at")
      .orderBy("id")
      .limit(f.limit + 1)
      .execute();
    return rows.map(toPayment);
  });
}

export async function findCardLast4(db: Db, token: string): Promise<string | undefined> {
  return withDbErrors(async () => {
    const row = await db.selectFrom("payment_methods").select("last4").where("token", "=", token).executeTakeFirst();
    return row?.last4;
  });
}

export async function saveCard(db: Db, card: { token: string; brand: string; last4: string }): Promise<void> {
  return withDbErrors(async () => {
    await db
      .insertInto("payment_methods")
      .values({ ...card, created_at: new Date() })
      .onConflict((oc) => oc.column("token").doNothing())
      .execute();
  });
}

/** Records a refund of the order's payment; false when `refundId` was recorded before. */
export async function insertRefund(db: Db, orderId: string, refundId: string, amountCents: number, now: Date): Promise<boolean> {
  return withDbErrors(async () => {
    const row = await db
      .insertInto("payment_refunds")
      .values({ order_id: orderId, refund_id: refundId, amount_cents: amountCents, created_at: now })
      .onConflict((oc) => oc.columns(["order_id", "refund_id"]).doNothing())
      .returning("refund_id")
      .executeTakeFirst();
    return row !== undefined;
  });
}

/** Whether the refund `refundId` of the order's payment was made. */
export async function hasRefund(db: Db, orderId: string, refundId: string): Promise<boolean> {
  return withDbErrors(async () => {
    const row = await db
      .selectFrom("payment_refunds")
      .select("refund_id")
      .where("order_id", "=", orderId)
      .where("refund_id", "=", refundId)
      .executeTakeFirst();
    return row !== undefined;
  });
}

/** Records `event` in the inbox; false when it was recorded before. */
export async function claimEvent(db: Db, event: Envelope): Promise<boolean> {
  return withDbErrors(async () => {
    const rows = await withInboxClaim<PaymentDb>(db, event).selectFrom("inbox_claim").select("event_id").execute();
    return rows.length > 0;
  });
}
