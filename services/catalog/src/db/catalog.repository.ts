import { withDbErrors } from "@shopmesh/platform";
import { type Kysely, sql } from "kysely";
import type { CatalogDb, ReservationStatusColumn } from "./tables.js";
import {
  imageUrlsOf,
  type NewProduct,
  type ProductFields,
  type ProductQuery,
  type StockLevel,
  type TextSearch,
  type VersionedProduct,
} from "../domain/product.js";
import { assertNever, type DecidedItem, type ReservationStatus } from "../domain/reservation.js";

/**
 * Queries of the catalog schema. Every function takes the database or an open transaction
 * first (a Kysely `Transaction` is a `Kysely`), so the service decides what runs atomically.
 */
export type CatalogDbHandle = Kysely<CatalogDb>;

/** Ids compare by code unit (ASCII here) on every database, whatever its default collation. */
const byIdC = sql`product_id collate "C"`;

/** Products with their stock and categories (in the order given), in one query. */
function productQuery(db: CatalogDbHandle) {
  return db
    .selectFrom("products as p")
    .innerJoin("stock as s", "s.product_id", "p.id")
    .select([
      "p.id",
      "p.name",
      "p.description",
      "p.price_cents",
      "p.currency",
      "p.image_url",
      "p.image_urls",
      "p.version",
      "p.archived_at",
      "p.updated_at as fields_updated_at",
      sql<string[]>`array(select pc.category from product_categories pc where pc.product_id = p.id order by pc.position)`.as("categories"),
      sql<number>`s.on_hand - s.reserved`.as("available"),
      "s.version as stock_version",
      sql<Date>`greatest(p.updated_at, s.updated_at)`.as("updated_at"),
    ]);
}

type ProductQueryRow = {
  id: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  image_url: string;
  image_urls: string[];
  version: string | number;
  archived_at: Date | null;
  fields_updated_at: Date;
  categories: string[];
  available: number;
  stock_version: number;
  updated_at: Date;
};

function toVersionedProduct(r: ProductQueryRow): VersionedProduct {
  return {
    product: {
      id: r.id,
      name: r.name,
      description: r.description,
      priceCents: r.price_cents,
      currency: r.currency,
      imageUrl: r.image_url,
      imageUrls: r.image_urls,
      categories: r.categories,
      available: Number(r.available),
      updatedAt: toDate(r.updated_at),
      version: Number(r.version),
      archived: r.archived_at !== null,
    },
    stockVersion: Number(r.stock_version),
    fieldsUpdatedAt: toDate(r.fields_updated_at),
  };
}

/**
 * The tsquery of a text search over `products.search_vector` (English stems): the query in web
 * search syntax, or that query with its last word as a prefix instead ("headph" → headphones).
 * The prefix is matched in the 'simple' configuration: lower-cased, unstemmed.
 */
function tsQuery(search: TextSearch) {
  const full = sql`websearch_to_tsquery('english', ${search.query})`;
  if (!search.prefix) return full;
  const { head, word } = search.prefix;
  return sql`(${full} || (websearch_to_tsquery('english', ${head}) && to_tsquery('simple', quote_literal(${word}) || ':*')))`;
}

/** A product of a listing: its id and its sort key as text, the key of the page cursor. */
export interface ListedProduct {
  readonly id: string;
  readonly sortKey: string;
}

/**
 * The products matching `q` (category, price range, text search) in its order after `q.after`:
 * by name, price or relevance rank, then id; at most `limit`. Only the products table is read
 * (their fields and stock come from the product cache).
 */
export async function listProducts(db: CatalogDbHandle, q: Omit<ProductQuery, "pageSize"> & { limit: number }): Promise<ListedProduct[]> {
  return withDbErrors(async () => {
    const { after, category, search } = q;
    const tsq = search && tsQuery(search);
    // The rank as numeric (six significant digits of the real): its text is exact whatever the
    // server's float settings, so a cursor compares equal to the rank it was made from.
    const rank = tsq && sql<string>`ts_rank(p.search_vector, ${tsq})::numeric`;
    const key = q.sort === "name" ? sql<string>`p.name` : q.sort === "relevance" ? (rank ?? sql<string>`0`) : sql<number>`p.price_cents`;
    let query = db.selectFrom("products as p").select(["p.id", sql<string>`${key}::text`.as("sort_key")]);
    // Archived products are off sale: read by id only, listed to operators who ask.
    if (!q.includeArchived) query = query.where("p.archived_at", "is", null);
    if (tsq) query = query.where(sql<boolean>`p.search_vector @@ ${tsq}`);
    if (category !== undefined) {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom("product_categories as pc")
            .select(sql.lit(1).as("one"))
            .whereRef("pc.product_id", "=", "p.id")
            .where("pc.category", "=", category),
        ),
      );
    }
    if (q.minPriceCents !== undefined) query = query.where("p.price_cents", ">=", q.minPriceCents);
    if (q.maxPriceCents !== undefined) query = query.where("p.price_cents", "<=", q.maxPriceCents);
    switch (q.sort) {
      case "name":
        if (after) query = query.where((eb) => eb(eb.refTuple("p.name", "p.id"), ">", eb.tuple(after.key, after.id)));
        query = query.orderBy("p.name").orderBy("p.id");
        break;
      case "price_asc":
        if (after) query = query.where(sql<boolean>`(p.price_cents, p.id) > (${Number(after.key)}::integer, ${after.id})`);
        query = query.orderBy("p.price_cents").orderBy("p.id");
        break;
      case "price_desc":
        if (after) {
          query = query.where(
            sql<boolean>`(p.price_cents < ${Number(after.key)}::integer or (p.price_cents = ${Number(after.key)}::integer and p.id > ${after.id}))`,
          );
        }
        query = query.orderBy("p.price_cents", "desc").orderBy("p.id");
        break;
      case "relevance":
        if (after) {
          query = query.where(sql<boolean>`(${key} < ${after.key}::numeric or (${key} = ${after.key}::numeric and p.id > ${after.id}))`);
        }
        query = query.orderBy(key, "desc").orderBy("p.id");
        break;
      default:
        assertNever(q.sort);
    }
    const rows = await query.limit(q.limit).execute();
    return rows.map((r) => ({ id: r.id, sortKey: r.sort_key }));
  });
}

/** The products among `ids` that exist, in no particular order, with the versions of their stock levels. */
export async function findProducts(db: CatalogDbHandle, ids: readonly string[]): Promise<VersionedProduct[]> {
  return withDbErrors(async () => {
    if (ids.length === 0) return [];
    const rows = await productQuery(db).where("p.id", "in", ids).execute();
    return rows.map(toVersionedProduct);
  });
}

const levelColumns = ["product_id", "on_hand", "reserved", "version", "updated_at"] as const;

function toLevel(r: { product_id: string; on_hand: number; reserved: number; version: number; updated_at: Date | string }): StockLevel {
  return { productId: r.product_id, available: r.on_hand - r.reserved, version: Number(r.version), updatedAt: toDate(r.updated_at) };
}

/** Current stock levels of the products among `ids` that exist. */
export async function findStockLevels(db: CatalogDbHandle, ids: readonly string[]): Promise<StockLevel[]> {
  return withDbErrors(async () => {
    if (ids.length === 0) return [];
    const rows = await db.selectFrom("stock").select(levelColumns).where("product_id", "in", ids).execute();
    return rows.map(toLevel);
  });
}

/**
 * Locks the stock rows of `ids` (FOR UPDATE) in product id order, the order every multi-row
 * stock change takes them in, so that concurrent reservations cannot deadlock. Returns the
 * units available per product on sale: an archived product is absent, as an unknown one.
 */
export async function lockStock(db: CatalogDbHandle, ids: readonly string[]): Promise<Map<string, number>> {
  return withDbErrors(async () => {
    if (ids.length === 0) return new Map();
    const rows = await db
      .selectFrom("stock")
      .select(["product_id", "on_hand", "reserved"])
      .where("product_id", "in", ids)
      .where(sql<boolean>`not exists (select 1 from products p where p.id = stock.product_id and p.archived_at is not null)`)
      .orderBy(byIdC)
      .forUpdate()
      .execute();
    return new Map(rows.map((r) => [r.product_id, r.on_hand - r.reserved]));
  });
}

/**
 * Holds `quantity` units of a product if that many are available, in one conditional update:
 * under READ COMMITTED a concurrent update makes Postgres re-check the condition on the newest
 * row version, so stock can never be reserved twice. Undefined when too few units are left.
 */
export async function reserveUnits(db: CatalogDbHandle, productId: string, quantity: number): Promise<StockLevel | undefined> {
  return withDbErrors(async () => {
    const row = await db
      .updateTable("stock")
      .set((eb) => ({ reserved: eb("reserved", "+", quantity), version: eb("version", "+", 1), updated_at: sql`now()` }))
      .where("product_id", "=", productId)
      .where(sql<boolean>`on_hand - reserved >= ${quantity}`)
      .returning(levelColumns)
      .executeTakeFirst();
    return row && toLevel(row);
  });
}

/** Returns `quantity` held units of a product to the available stock. */
export async function returnUnits(db: CatalogDbHandle, productId: string, quantity: number): Promise<StockLevel | undefined> {
  return withDbErrors(async () => {
    const row = await db
      .updateTable("stock")
      .set((eb) => ({
        reserved: sql`greatest(${eb.ref("reserved")} - ${quantity}, 0)`,
        version: eb("version", "+", 1),
        updated_at: sql`now()`,
      }))
      .where("product_id", "=", productId)
      .returning(levelColumns)
      .executeTakeFirst();
    return row && toLevel(row);
  });
}

/**
 * Changes the stock on hand by `delta` if the result keeps available units >= 0 and on hand
 * <= `maxOnHand`. Undefined when the product is unknown or the condition fails.
 */
export async function adjustOnHand(
  db: CatalogDbHandle,
  productId: string,
  delta: number,
  maxOnHand: number,
): Promise<{ level: StockLevel; onHand: number } | undefined> {
  return withDbErrors(async () => {
    const row = await db
      .updateTable("stock")
      .set((eb) => ({ on_hand: eb("on_hand", "+", delta), version: eb("version", "+", 1), updated_at: sql`now()` }))
      .where("product_id", "=", productId)
      .where(sql<boolean>`on_hand + ${delta} - reserved >= 0`)
      .where(sql<boolean>`on_hand + ${delta} <= ${maxOnHand}`)
      .returning(levelColumns)
      .executeTakeFirst();
    return row && { level: toLevel(row), onHand: row.on_hand };
  });
}

export async function stockExists(db: CatalogDbHandle, productId: string): Promise<boolean> {
  return withDbErrors(async () => {
    const row = await db.selectFrom("stock").select("product_id").where("product_id", "=", productId).executeTakeFirst();
    return row !== undefined;
  });
}

export async function insertAdjustment(
  db: CatalogDbHandle,
  a: { productId: string; delta: number; reason: string; onHandAfter: number },
): Promise<void> {
  return withDbErrors(async () => {
    await db
      .insertInto("stock_adjustments")
      .values({ product_id: a.productId, delta: a.delta, reason: a.reason, on_hand_after: a.onHandAfter })
      .execute();
  });
}

/** Adjustments of a product, oldest first. */
export async function listAdjustments(
  db: CatalogDbHandle,
  productId: string,
): Promise<Array<{ delta: number; reason: string; onHandAfter: number }>> {
  return withDbErrors(async () => {
    const rows = await db
      .selectFrom("stock_adjustments")
      .select(["delta", "reason", "on_hand_after"])
      .where("product_id", "=", productId)
      .orderBy("id")
      .execute();
    return rows.map((r) => ({ delta: r.delta, reason: r.reason, onHandAfter: r.on_hand_after }));
  });
}

/**
 * Claims an order id for a reservation. False when the order already has one: Postgres makes
 * a concurrent insert of the same id wait for the first transaction and then skip, so the
 * loser reads the winner's committed outcome instead of deciding again.
 */
export async function insertReservation(
  db: CatalogDbHandle,
  r: { orderId: string; status: ReservationStatus; reason: string | null; released?: boolean },
): Promise<boolean> {
  return withDbErrors(async () => {
    const row = await db
      .insertInto("reservations")
      .values({ order_id: r.orderId, status: r.status, reason: r.reason, ...(r.released ? { released_at: sql`now()` } : {}) })
      .onConflict((oc) => oc.column("order_id").doNothing())
      .returning("order_id")
      .executeTakeFirst();
    return row !== undefined;
  });
}

export async function updateReservation(
  db: CatalogDbHandle,
  orderId: string,
  change: { status: ReservationStatus; reason: string | null; released?: boolean },
): Promise<void> {
  return withDbErrors(async () => {
    await db
      .updateTable("reservations")
      .set({
        status: change.status satisfies ReservationStatusColumn,
        reason: change.reason,
        updated_at: sql`now()`,
        ...(change.released ? { released_at: sql`now()` } : {}),
      })
      .where("order_id", "=", orderId)
      .execute();
  });
}

export async function insertReservationItems(db: CatalogDbHandle, orderId: string, items: readonly DecidedItem[]): Promise<void> {
  return withDbErrors(async () => {
    if (items.length === 0) return;
    await db
      .insertInto("reservation_items")
      .values(items.map((it) => ({ order_id: orderId, product_id: it.productId, quantity: it.quantity, available: it.available })))
      .execute();
  });
}

export interface StoredReservation {
  readonly orderId: string;
  readonly status: ReservationStatus;
  readonly reason: string | null;
  /** In product id order. */
  readonly items: readonly DecidedItem[];
}

/** An order's reservation with its items; `lock` takes the row FOR UPDATE. */
export async function findReservation(
  db: CatalogDbHandle,
  orderId: string,
  opts: { lock?: boolean } = {},
): Promise<StoredReservation | undefined> {
  return withDbErrors(async () => {
    let q = db.selectFrom("reservations").select(["order_id", "status", "reason"]).where("order_id", "=", orderId);
    if (opts.lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) return undefined;
    const items = await db
      .selectFrom("reservation_items")
      .select(["product_id", "quantity", "available"])
      .where("order_id", "=", orderId)
      .orderBy(byIdC)
      .execute();
    return {
      orderId: row.order_id,
      status: row.status,
      reason: row.reason,
      items: items.map((it) => ({ productId: it.product_id, quantity: it.quantity, available: it.available })),
    };
  });
}

export async function insertProducts(db: CatalogDbHandle, products: readonly NewProduct[]): Promise<void> {
  return withDbErrors(async () => {
    if (products.length === 0) return;
    await db
      .insertInto("products")
      .values(
        products.map((p) => ({
          id: p.id,
          name: p.name,
          description: p.description,
          price_cents: p.priceCents,
          currency: p.currency,
          image_url: p.imageUrl,
          image_urls: [...imageUrlsOf(p)],
        })),
      )
      .execute();
    const categories = products.flatMap((p) => p.categories.map((category, position) => ({ product_id: p.id, category, position })));
    if (categories.length > 0) await db.insertInto("product_categories").values(categories).execute();
    await db
      .insertInto("stock")
      .values(products.map((p) => ({ product_id: p.id, on_hand: p.onHand, reserved: 0 })))
      .execute();
  });
}

/** A product's version and whether it is archived, its row locked (FOR UPDATE); undefined for an unknown id. */
export async function lockProduct(
  db: CatalogDbHandle,
  id: string,
): Promise<{ id: string; version: number; archived: boolean } | undefined> {
  return withDbErrors(async () => {
    const row = await db
      .selectFrom("products")
      .select(["id", "version", "archived_at"])
      .where("id", "=", id)
      .forUpdate()
      .executeTakeFirst();
    return row && { id: row.id, version: Number(row.version), archived: row.archived_at !== null };
  });
}

/** Sets every field of a product (its categories replaced) and takes the next version. */
export async function updateProductFields(db: CatalogDbHandle, id: string, fields: ProductFields): Promise<void> {
  return withDbErrors(async () => {
    await db
      .updateTable("products")
      .set((eb) => ({
        name: fields.name,
        description: fields.description,
        price_cents: fields.priceCents,
        currency: fields.currency,
        image_url: fields.imageUrls[0] ?? "",
        image_urls: [...fields.imageUrls],
        version: eb("version", "+", 1),
        updated_at: sql`now()`,
      }))
      .where("id", "=", id)
      .execute();
    await db.deleteFrom("product_categories").where("product_id", "=", id).execute();
    if (fields.categories.length > 0) {
      await db
        .insertInto("product_categories")
        .values(fields.categories.map((category, position) => ({ product_id: id, category, position })))
        .execute();
    }
  });
}

/** Takes a product off sale and takes the next version. */
export async function archiveProduct(db: CatalogDbHandle, id: string): Promise<void> {
  return withDbErrors(async () => {
    await db
      .updateTable("products")
      .set((eb) => ({ archived_at: sql`now()`, version: eb("version", "+", 1), updated_at: sql`now()` }))
      .where("id", "=", id)
      .execute();
  });
}

/** Records that the seed `name` ran; false when it already had. */
export async function claimSeed(db: CatalogDbHandle, name: string): Promise<boolean> {
  return withDbErrors(async () => {
    const row = await db
      .insertInto("seeds")
      .values({ name })
      .onConflict((oc) => oc.column("name").doNothing())
      .returning("name")
      .executeTakeFirst();
    return row !== undefined;
  });
}

function toDate(v: Date | string): Date {
  return v instanceof Date ? v : new Date(v);
}
