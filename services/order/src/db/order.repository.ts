import { type Insertable, type Kysely, type QueryCreator, type Selectable, sql, type Transaction, type Updateable } from "kysely";
import { jsonArrayFrom } from "kysely/helpers/postgres";
import type { OrderDb, OrdersTable } from "./tables.js";
import type { Order, OrderItem, OrderStatus, StatusTransition, StatusUpdate } from "../domain/order.js";
import type { Refund } from "../domain/order.js";
import { type Envelope, type KeysetCursor, withDbErrors, withInboxClaim } from "@shopmesh/platform";

type Db = Kysely<OrderDb> | Transaction<OrderDb>;
export type OrderRow = Selectable<OrdersTable>;

export async function findByIdempotencyKey(db: Db, userId: string, key: string): Promise<OrderRow | undefined> {
  return withDbErrors(async () => {
    return db.selectFrom("orders").selectAll().where("user_id", "=", userId).where("idempotency_key", "=", key).executeTakeFirst();
  }, "order");
}

/**
 * Inserts the order row; false when the user already has an order with its idempotency key
 * (a concurrent insert with the same key waits for the other transaction and then finds it).
 */
export async function insertOrder(trx: Transaction<OrderDb>, row: Insertable<OrdersTable>): Promise<boolean> {
  return withDbErrors(async () => {
    const inserted = await trx
      .insertInto("orders")
      .values(row)
      .onConflict((oc) => oc.columns(["user_id", "idempotency_key"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    return inserted !== undefined;
  }, "order");
}

/**
 * A placed order's items and first transition, as common table expressions of the statement
 * that writes its OrderPlaced (`writeOutbox`'s `along`). `items` is never empty.
 */
export function orderContents(orderId: string, items: readonly OrderItem[], placed: StatusTransition) {
  return (qc: QueryCreator<OrderDb>) =>
    qc
      .with("items", (q) =>
        q
          .insertInto("order_items")
          .values(
            items.map((item, i) => ({
              order_id: orderId,
              line_no: i + 1,
              product_id: item.productId,
              name: item.name,
              unit_price_cents: item.unitPriceCents,
              quantity: item.quantity,
              line_total_cents: item.lineTotalCents,
            })),
          )
          .returning("line_no"),
      )
      .with("history", (q) =>
        q
          .insertInto("order_transitions")
          .values({
            order_id: orderId,
            seq: placed.seq,
            from_status: placed.from,
            to_status: placed.to,
            reason: placed.reason,
            at: placed.at,
          })
          .returning("seq"),
      );
}

/** An order line as the JSON arrays of an order's items carry it. */
const itemColumns = [
  "product_id as productId",
  "name",
  "unit_price_cents as unitPriceCents",
  "quantity",
  "line_total_cents as lineTotalCents",
] as const;

/** A refund as {@link findRefunds} and the JSON arrays of {@link detailedOrders} read it. */
const refundColumns = [
  "id",
  "lines",
  "amount_cents as amountCents",
  "restock",
  "reason",
  "requested_at as requestedAt",
  "refunded_at as refundedAt",
] as const;

/** A refund of {@link refundColumns}; in a JSON array its times are text. */
function toRefund(r: {
  id: string;
  lines: Refund["lines"];
  amountCents: number;
  restock: boolean;
  reason: string;
  requestedAt: Date | string;
  refundedAt: Date | string | null;
}): Refund {
  return {
    id: r.id,
    lines: r.lines,
    amountCents: r.amountCents,
    restock: r.restock,
    reason: r.reason,
    completed: r.refundedAt !== null,
    requestedAt: new Date(r.requestedAt),
    refundedAt: r.refundedAt === null ? undefined : new Date(r.refundedAt),
  };
}

/** An order row with its items. */
export type OrderWithItems = OrderRow & { items: OrderItem[] };

/**
 * The order row with its items, locked until `trx` ends: the changes of one order are
 * serialised. Given `event`, the same statement records it in the inbox (see withInboxClaim):
 * then `claimed` is false, and nothing is locked, when it was consumed before.
 */
export async function lockOrder(
  trx: Transaction<OrderDb>,
  id: string,
  event?: Envelope,
): Promise<{ claimed: boolean; order: OrderWithItems | undefined }> {
  return withDbErrors(async () => {
    const items = (eb: Kysely<OrderDb>) =>
      jsonArrayFrom(eb.selectFrom("order_items").select(itemColumns).where("order_id", "=", id).orderBy("line_no")).as("items");
    if (!event) {
      const order = await trx
        .selectFrom("orders")
        .selectAll()
        .select((eb) => items(eb as unknown as Kysely<OrderDb>))
        .where("id", "=", id)
        .forUpdate()
        .executeTakeFirst();
      return { claimed: true, order };
    }
    const rows = await withInboxClaim<OrderDb>(trx, event)
      .with("locked", (qc) =>
        qc
          .selectFrom("orders")
          .selectAll()
          .where("id", "=", id)
          .where((eb) => eb.exists(eb.selectFrom("inbox_claim").select("event_id")))
          .forUpdate(),
      )
      .selectFrom("inbox_claim")
      .leftJoin("locked", (join) => join.onTrue())
      .selectAll("locked")
      .select((eb) => items(eb as unknown as Kysely<OrderDb>))
      .execute();
    const row = rows[0];
    if (!row) return { claimed: false, order: undefined };
    return { claimed: true, order: row.id === null ? undefined : (row as OrderWithItems) };
  }, "order");
}

/**
 * The order's transitions recorded and its row updated, as common table expressions of one
 * statement: {@link updateOrder}'s, or the one that writes the events of the change (`writeOutbox`'s `along`).
 */
export function orderChange(id: string, steps: readonly StatusTransition[], set: Updateable<OrdersTable>) {
  return (qc: QueryCreator<OrderDb>) =>
    qc
      .with("recorded", (q) =>
        q
          .insertInto("order_transitions")
          .values(steps.map((s) => ({ order_id: id, seq: s.seq, from_status: s.from, to_status: s.to, reason: s.reason, at: s.at })))
          .returning("seq"),
      )
      .with("updated", (q) => q.updateTable("orders").set(set).where("id", "=", id).returning("id"));
}

/**
 * In one statement: records `event` in the inbox (see withInboxClaim) and, unless it was there
 * already, moves the order from `step.from` to `step.to` with its transition, when it is in
 * `step.from`. Undefined for an event consumed before; else the transition's seq when the order
 * moved, and its status before (undefined for an unknown order).
 */
export async function claimAndStep(
  db: Kysely<OrderDb>,
  event: Envelope,
  id: string,
  step: { from: OrderStatus; to: OrderStatus; reason: string; at: Date },
): Promise<{ seq: number | undefined; statusBefore: OrderStatus | undefined; paymentId: string | null } | undefined> {
  return withDbErrors(async () => {
    const rows = await withInboxClaim<OrderDb>(db, event)
      .with("stepped", (qc) =>
        qc
          .updateTable("orders")
          .set((eb) => ({ status: step.to, version: eb("version", "+", 1), updated_at: step.at }))
          .where("id", "=", id)
          .where("status", "=", step.from)
          .where((eb) => eb.exists(eb.selectFrom("inbox_claim").select("event_id")))
          .returning(["id", "version", "payment_id"]),
      )
      .with("recorded", (qc) =>
        qc
          .insertInto("order_transitions")
          .columns(["order_id", "seq", "from_status", "to_status", "reason", "at"])
          .expression((eb) =>
            eb
              .selectFrom("stepped")
              .select((sb) => [
                "stepped.id",
                "stepped.version",
                sb.val(step.from).as("from_status"),
                sb.val(step.to).as("to_status"),
                sb.val(step.reason).as("reason"),
                sb.cast(sb.val(step.at), "timestamptz").as("at"),
              ]),
          )
          .returning("seq"),
      )
      .selectFrom("inbox_claim")
      .leftJoin("stepped", (join) => join.onTrue())
      .select((eb) => [
        "stepped.version",
        "stepped.payment_id",
        eb.selectFrom("orders").select("status").where("id", "=", id).as("status_before"),
      ])
      .execute();
    const row = rows[0];
    if (!row) return undefined;
    return { seq: row.version ?? undefined, statusBefore: row.status_before ?? undefined, paymentId: row.payment_id };
  }, "order");
}

/** Records the order's transitions and updates its row, in one statement. */
export async function updateOrder(
  trx: Transaction<OrderDb>,
  id: string,
  steps: readonly StatusTransition[],
  set: Updateable<OrdersTable>,
): Promise<void> {
  return withDbErrors(async () => {
    await orderChange(id, steps, set)(trx).selectFrom("updated").select("id").execute();
  }, "order");
}

/** The order with its lines, history and refunds, in one statement; only if `userId` placed it, when given. */
export async function findDetailedOrder(db: Db, id: string, userId?: string): Promise<Order | undefined> {
  return withDbErrors(async () => {
    const row = await detailedOrders(db)
      .where("id", "=", id)
      .$if(userId !== undefined, (q) => q.where("user_id", "=", userId as string))
      .executeTakeFirst();
    return row && toDetailedOrder(row);
  }, "order");
}

/** The refunds of `orderIds`, oldest first per order. */
export async function findRefunds(db: Db, orderIds: readonly string[]): Promise<Map<string, Refund[]>> {
  return withDbErrors(async () => {
    const byOrder = new Map<string, Refund[]>();
    if (orderIds.length === 0) return byOrder;
    const rows = await db
      .selectFrom("order_refunds")
      .select(["order_id", ...refundColumns])
      .where("order_id", "in", [...orderIds])
      .orderBy("order_id")
      .orderBy("requested_at")
      .orderBy("id")
      .execute();
    for (const r of rows) byOrder.set(r.order_id, [...(byOrder.get(r.order_id) ?? []), toRefund(r)]);
    return byOrder;
  }, "order");
}

/** Records a refund asked for (not completed). */
export async function insertRefund(trx: Transaction<OrderDb>, orderId: string, refund: Refund): Promise<void> {
  return withDbErrors(async () => {
    await trx
      .insertInto("order_refunds")
      .values({
        order_id: orderId,
        id: refund.id,
        lines: JSON.stringify(refund.lines),
        amount_cents: refund.amountCents,
        restock: refund.restock,
        reason: refund.reason,
        requested_at: refund.requestedAt,
        refunded_at: refund.refundedAt ?? null,
      })
      .execute();
  }, "order");
}

/** Marks a refund completed. */
export async function completeRefund(trx: Transaction<OrderDb>, orderId: string, refundId: string, at: Date): Promise<void> {
  return withDbErrors(async () => {
    await trx.updateTable("order_refunds").set({ refunded_at: at }).where("order_id", "=", orderId).where("id", "=", refundId).execute();
  }, "order");
}

/** The user's orders, newest first by (created_at, id); `limit + 1` so the caller sees whether more follow. */
export async function listUserOrders(db: Db, userId: string, limit: number, after: KeysetCursor | undefined): Promise<Order[]> {
  return withDbErrors(async () => {
    let q = detailedOrders(db).where("user_id", "=", userId);
    if (after) {
      q = q.where((eb) => eb(eb.refTuple("created_at", "id"), "<", eb.tuple(after.createdAt, after.id)));
    }
    const rows = await q
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit + 1)
      .execute();
    return rows.map(toDetailedOrder);
  }, "order");
}

export interface AllOrdersFilter {
  readonly limit: number;
  readonly after: KeysetCursor | undefined;
  readonly statuses: readonly OrderStatus[];
  readonly updatedBefore: Date | undefined;
  readonly userId: string | undefined;
  /** Compared ignoring case (the index is on lower(email)). */
  readonly email: string | undefined;
}

/** Every user's orders, oldest first by (created_at, id), filtered; `limit + 1`. */
export async function listAllOrders(db: Db, f: AllOrdersFilter): Promise<Order[]> {
  return withDbErrors(async () => {
    let q = detailedOrders(db);
    if (f.statuses.length > 0) q = q.where("status", "in", [...f.statuses]);
    if (f.updatedBefore) q = q.where("updated_at", "<", f.updatedBefore);
    if (f.userId) q = q.where("user_id", "=", f.userId);
    if (f.email) q = q.where(sql`lower(email)`, "=", f.email.toLowerCase());
    const after = f.after;
    if (after) {
      q = q.where((eb) => eb(eb.refTuple("created_at", "id"), ">", eb.tuple(after.createdAt, after.id)));
    }
    const rows = await q
      .orderBy("created_at")
      .orderBy("id")
      .limit(f.limit + 1)
      .execute();
    return rows.map(toDetailedOrder);
  }, "order");
}

/**
 * Orders with their lines, history and refunds as JSON arrays beside each row: a page of orders
 * is one statement and one round trip, where reading the three children apart took four
 * statements in two round trips, and far fewer rows to parse.
 */
function detailedOrders(db: Db) {
  return db
    .selectFrom("orders")
    .selectAll("orders")
    .select((eb) => [
      jsonArrayFrom(
        eb.selectFrom("order_items").select(itemColumns).whereRef("order_items.order_id", "=", "orders.id").orderBy("line_no"),
      ).as("items"),
      jsonArrayFrom(
        eb
          .selectFrom("order_transitions")
          .select(["seq", "from_status as from", "to_status as to", "at", "reason"])
          .whereRef("order_transitions.order_id", "=", "orders.id")
          .orderBy("seq"),
      ).as("history"),
      jsonArrayFrom(
        eb
          .selectFrom("order_refunds")
          .select(refundColumns)
          .whereRef("order_refunds.order_id", "=", "orders.id")
          .orderBy("requested_at")
          .orderBy("id"),
      ).as("refunds"),
    ]);
}

type DetailedRow = Awaited<ReturnType<ReturnType<typeof detailedOrders>["execute"]>>[number];

/** An order of {@link detailedOrders}: the JSON arrays carry their timestamps as text. */
function toDetailedOrder(row: DetailedRow): Order {
  const history = row.history.map((t) => ({ seq: t.seq, from: t.from, to: t.to, at: new Date(t.at), reason: t.reason }));
  return toOrder(row, row.items, history, row.refunds.map(toRefund));
}

/** The current status of each of `ids` that belongs to `userId` (any user's when null), with its latest transition. */
export async function findStatuses(db: Db, userId: string | null, ids: readonly string[]): Promise<StatusUpdate[]> {
  return withDbErrors(async () => {
    if (ids.length === 0) return [];
    const rows = await db
      .selectFrom("orders")
      .innerJoin("order_transitions as t", (join) => join.onRef("t.order_id", "=", "orders.id").onRef("t.seq", "=", "orders.version"))
      .select([
        "orders.id",
        "orders.status",
        "orders.cancel_reason",
        "orders.payment_id",
        "t.seq",
        "t.from_status",
        "t.to_status",
        "t.reason",
        "t.at",
      ])
      .$if(userId !== null, (q) => q.where("orders.user_id", "=", userId as string))
      .where("orders.id", "in", [...ids])
      .execute();
    return rows.map((r) => ({
      orderId: r.id,
      status: r.status,
      transition: { seq: r.seq, from: r.from_status, to: r.to_status, at: new Date(r.at), reason: r.reason },
      cancelReason: r.cancel_reason ?? undefined,
      paymentId: r.payment_id ?? undefined,
    }));
  }, "order");
}

/**
 * Announces `updates` on the Postgres channel `channel` (NOTIFY), delivered to every listening
 * order process when `trx` commits and never when it rolls back. See {@link parseStatusNotification}.
 */
export async function notifyStatus(trx: Transaction<OrderDb>, channel: string, updates: readonly StatusUpdate[]): Promise<void> {
  return withDbErrors(async () => {
    if (updates.length === 0) return;
    await sql`select pg_notify(${channel}, ${JSON.stringify(updates)})`.execute(trx);
  }, "order");
}

/** The updates of a {@link notifyStatus} payload. */
export function parseStatusNotification(payload: string): StatusUpdate[] {
  const updates = JSON.parse(payload) as Array<StatusUpdate & { transition: { at: string } }>;
  return updates.map((u) => ({ ...u, transition: { ...u.transition, at: new Date(u.transition.at) } }));
}

export function toOrder(
  row: OrderRow,
  items: readonly OrderItem[],
  history: readonly StatusTransition[],
  refunds: readonly Refund[] = [],
): Order {
  return {
    id: row.id,
    userId: row.user_id,
    email: row.email,
    items,
    totalCents: row.total_cents,
    currency: row.currency,
    status: row.status,
    cancelReason: row.cancel_reason ?? undefined,
    holdReason: row.status === "ON_HOLD" ? history.findLast((t) => t.to === "ON_HOLD")?.reason : undefined,
    paymentId: row.payment_id ?? undefined,
    history,
    refunds,
    refundedCents: refunds.reduce((sum, r) => (r.completed ? sum + r.amountCents : sum), 0),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}
