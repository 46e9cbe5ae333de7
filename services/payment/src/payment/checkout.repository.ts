import type { Kysely, Selectable } from "kysely";
import type { CheckoutsTable, PaymentDb } from "../db/tables.js";

type Db = Kysely<PaymentDb>;

/** Records OrderPlaced's charge details for an order; returns the checkout, locked. */
export async function recordOrderPlaced(
  db: Db,
  v: { orderId: string; userId: string; amountCents: number; currency: string; paymentMethod: string },
): Promise<Selectable<CheckoutsTable>> {
  const fields = { placed: true, user_id: v.userId, amount_cents: v.amountCents, currency: v.currency, payment_method: v.paymentMethod };
  return db
    .insertInto("checkouts")
    .values({ order_id: v.orderId, ...fields, stock: null, updated_at: new Date() })
    .onConflict((oc) => oc.column("order_id").doUpdateSet({ ...fields, updated_at: new Date() }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Records the catalog's answer; a rejection is final and is never overwritten by a reservation. */
export async function recordStock(db: Db, orderId: string, stock: "reserved" | "rejected"): Promise<Selectable<CheckoutsTable>> {
  return db
    .insertInto("checkouts")
    .values({ order_id: orderId, placed: false, stock, updated_at: new Date() })
    .onConflict((oc) =>
      oc.column("order_id").doUpdateSet((eb) => ({
        stock: stock === "rejected" ? eb.val("rejected" as const) : eb.fn.coalesce(eb.ref("checkouts.stock"), eb.val("reserved" as const)),
        updated_at: new Date(),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}
