import { withDbErrors } from "@shopmesh/platform";
import { sql } from "kysely";
import type { CatalogDbHandle } from "./catalog.repository.js";
import type { ReservationStatus, StockItem } from "../domain/reservation.js";

/**
 * The stock books as operations and reconciliation read them (ListStockBooks, ListReservations):
 * per product what was received, held and adjusted, and per order its reservation.
 */

/** The stock books of one product (see the StockBook message). */
export interface StockBook {
  readonly productId: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly reservedByReservations: number;
  readonly adjusted: number;
}

/** One change of a product's stock on hand (see the StockAdjustment message). */
export interface StockAdjustmentRecord {
  readonly id: string;
  readonly productId: string;
  readonly delta: number;
  readonly reason: string;
  readonly onHandAfter: number;
  readonly createdAt: Date;
}

export interface ReservationRecord {
  readonly orderId: string;
  readonly status: ReservationStatus;
  readonly reason: string;
  readonly items: readonly StockItem[];
}

/** Stock books of the products after `after` by product id (code-unit order), at most `limit`. */
export async function listStockBooks(db: CatalogDbHandle, q: { after: string | undefined; limit: number }): Promise<StockBook[]> {
  return withDbErrors(async () => {
    let query = db
      .selectFrom("stock as s")
      .select([
        "s.product_id",
        "s.on_hand",
        "s.reserved",
        sql<number>`coalesce((select sum(ri.quantity) from reservation_items ri join reservations r on r.order_id = ri.order_id
        where ri.product_id = s.product_id and r.status = 'reserved'), 0)`.as("reserved_by_reservations"),
        sql<number>`coalesce((select sum(a.delta) from stock_adjustments a where a.product_id = s.product_id), 0)`.as("adjusted"),
      ])
      .orderBy(sql`s.product_id collate "C"`)
      .limit(q.limit);
    if (q.after !== undefined) query = query.where(sql<boolean>`s.product_id collate "C" > ${q.after}`);
    const rows = await query.execute();
    return rows.map((r) => ({
      productId: r.product_id,
      onHand: r.on_hand,
      reserved: r.reserved,
      reservedByReservations: Number(r.reserved_by_reservations),
      adjusted: Number(r.adjusted),
    }));
  });
}

/** Reservations of the orders after `after` by order id (code-unit order), at most `limit`, with their items. */
export async function listReservations(db: CatalogDbHandle, q: { after: string | undefined; limit: number }): Promise<ReservationRecord[]> {
  return withDbErrors(async () => {
    let query = db.selectFrom("reservations").select(["order_id", "status", "reason"]).orderBy(sql`order_id collate "C"`).limit(q.limit);
    if (q.after !== undefined) query = query.where(sql<boolean>`order_id collate "C" > ${q.after}`);
    const rows = await query.execute();
    if (rows.length === 0) return [];
    const items = await db
      .selectFrom("reservation_items")
      .select(["order_id", "product_id", "quantity"])
      .where(
        "order_id",
        "in",
        rows.map((r) => r.order_id),
      )
      .orderBy(sql`product_id collate "C"`)
      .execute();
    const byOrder = new Map<string, StockItem[]>();
    for (const i of items) {
      const list = byOrder.get(i.order_id) ?? [];
      list.push({ productId: i.product_id, quantity: i.quantity });
      byOrder.set(i.order_id, list);
    }
    return rows.map((r) => ({ orderId: r.order_id, status: r.status, reason: r.reason ?? "", items: byOrder.get(r.order_id) ?? [] }));
  });
}

/** A product's stock adjustments before the adjustment `beforeId` (newest first), at most `limit`. */
export async function listStockAdjustments(
  db: CatalogDbHandle,
  q: { productId: string; beforeId: string | undefined; limit: number },
): Promise<StockAdjustmentRecord[]> {
  return withDbErrors(async () => {
    let query = db
      .selectFrom("stock_adjustments")
      .select(["id", "product_id", "delta", "reason", "on_hand_after", "created_at"])
      .where("product_id", "=", q.productId)
      .orderBy("id", "desc")
      .limit(q.limit);
    if (q.beforeId !== undefined) query = query.where("id", "<", q.beforeId);
    const rows = await query.execute();
    return rows.map((r) => ({
      id: String(r.id),
      productId: r.product_id,
      delta: r.delta,
      reason: r.reason,
      onHandAfter: r.on_hand_after,
      createdAt: r.created_at,
    }));
  });
}
