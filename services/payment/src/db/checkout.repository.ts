import { type Envelope, withDbErrors, withInboxClaim } from "@shopmesh/platform";
import type { Kysely, Selectable } from "kysely";
import type { PaymentDb, PaymentsTable } from "./tables.js";
import type { ChargeIntent } from "../domain/payment.js";

type Db = Kysely<PaymentDb>;

/** What a saga event tells of an order's checkout. */
export type CheckoutFact =
  | { readonly kind: "placed"; readonly intent: ChargeIntent }
  | { readonly kind: "stock"; readonly orderId: string; readonly stock: "reserved" | "rejected" };

/** What OrderPlaced told of an order's charge; undefined when no OrderPlaced was recorded for it. */
export async function findPlacedCheckout(
  db: Db,
  orderId: string,
): Promise<{ readonly userId: string; readonly amountCents: number; readonly currency: string } | undefined> {
  return withDbErrors(async () => {
    const row = await db
      .selectFrom("checkouts")
      .select(["user_id", "amount_cents", "currency"])
      .where("order_id", "=", orderId)
      .where("placed", "=", true)
      .executeTakeFirst();
    return row && { userId: row.user_id ?? "", amountCents: row.amount_cents ?? 0, currency: row.currency ?? "" };
  });
}

/** The payment a checkout creates once it is placed and its stock reserved. */
export interface NewPayment {
  readonly id: string;
  readonly createdAt: Date;
  /** For a checkout placed without a payment method. */
  readonly defaultMethod: string;
}

/**
 * In one statement: records `event` in the inbox and, unless it was there already, what it
 * tells of the order's checkout (OrderPlaced's charge details, or the catalog's answer; a
 * rejection is final and never overwritten by a reservation); once the checkout is both
 * placed and reserved, creates its PENDING payment (`payment`) unless the order has one.
 * Undefined for an event consumed before; else whether the checkout is now placed and reserved,
 * and the payment this statement created, if any.
 */
export async function recordCheckout(
  db: Db,
  event: Envelope,
  fact: CheckoutFact,
  payment: NewPayment,
): Promise<{ complete: boolean; created: Selectable<PaymentsTable> | undefined } | undefined> {
  return withDbErrors(async () => {
    const now = new Date();
    const rows = await withInboxClaim(db, event)
      .with("checkout", (qc) => {
        const insert = qc.insertInto("checkouts");
        if (fact.kind === "placed") {
          const { intent } = fact;
          return insert
            .columns(["order_id", "placed", "user_id", "amount_cents", "currency", "payment_method", "stock", "updated_at"])
            .expression((eb) =>
              eb
                .selectFrom("inbox_claim")
                .select([
                  eb.val(intent.orderId).as("order_id"),
                  eb.lit(true).as("placed"),
                  eb.val(intent.userId).as("user_id"),
                  eb.cast(eb.val(intent.amountCents), "integer").as("amount_cents"),
                  eb.val(intent.currency).as("currency"),
                  eb.val(intent.paymentMethod).as("payment_method"),
                  eb.lit(null).as("stock"),
                  eb.cast(eb.val(now), "timestamptz").as("updated_at"),
                ]),
            )
            .onConflict((oc) =>
              oc.column("order_id").doUpdateSet((eb) => ({
                placed: true,
                user_id: eb.ref("excluded.user_id"),
                amount_cents: eb.ref("excluded.amount_cents"),
                currency: eb.ref("excluded.currency"),
                payment_method: eb.ref("excluded.payment_method"),
                updated_at: eb.ref("excluded.updated_at"),
              })),
            )
            .returningAll();
        }
        const { orderId, stock } = fact;
        return insert
          .columns(["order_id", "placed", "stock", "updated_at"])
          .expression((eb) =>
            eb
              .selectFrom("inbox_claim")
              .select([
                eb.val(orderId).as("order_id"),
                eb.lit(false).as("placed"),
                eb.val(stock).as("stock"),
                eb.cast(eb.val(now), "timestamptz").as("updated_at"),
              ]),
          )
          .onConflict((oc) =>
            oc.column("order_id").doUpdateSet((eb) => ({
              stock:
                stock === "rejected" ? eb.val("rejected" as const) : eb.fn.coalesce(eb.ref("checkouts.stock"), eb.val("reserved" as const)),
              updated_at: eb.ref("excluded.updated_at"),
            })),
          )
          .returningAll();
      })
      .with("payment", (qc) =>
        qc
          .insertInto("payments")
          .columns([
            "id",
            "order_id",
            "user_id",
            "amount_cents",
            "currency",
            "payment_method",
            "card_last4",
            "created_at",
            "status",
            "attempts",
            "updated_at",
          ])
          .expression((eb) =>
            eb
              .selectFrom("checkout")
              .select((sb) => [
                sb.cast(sb.val(payment.id), "uuid").as("id"),
                "checkout.order_id",
                sb.fn.coalesce("checkout.user_id", sb.val("")).as("user_id"),
                sb.fn.coalesce("checkout.amount_cents", sb.lit(0)).as("amount_cents"),
                sb.fn.coalesce("checkout.currency", sb.val("")).as("currency"),
                sb.fn
                  .coalesce(sb.fn<string | null>("nullif", ["checkout.payment_method", sb.val("")]), sb.val(payment.defaultMethod))
                  .as("payment_method"),
                sb.val("").as("card_last4"),
                sb.cast(sb.val(payment.createdAt), "timestamptz").as("created_at"),
                sb.val("PENDING").as("status"),
                sb.lit(0).as("attempts"),
                sb.cast(sb.val(payment.createdAt), "timestamptz").as("updated_at"),
              ])
              .where("checkout.placed", "=", true)
              .where("checkout.stock", "=", "reserved"),
          )
          .onConflict((oc) => oc.column("order_id").doNothing())
          .returningAll(),
      )
      .selectFrom("inbox_claim")
      .leftJoin("checkout", (join) => join.onTrue())
      .leftJoin("payment", (join) => join.onTrue())
      .selectAll("payment")
      .select(["checkout.placed as checkout_placed", "checkout.stock as checkout_stock"])
      .execute();
    const row = rows[0];
    if (!row) return undefined;
    const { checkout_placed, checkout_stock, ...created } = row;
    return {
      complete: checkout_placed === true && checkout_stock === "reserved",
      created: created.id === null ? undefined : (created as Selectable<PaymentsTable>),
    };
  });
}
