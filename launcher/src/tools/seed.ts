/**
 * `npm run seed`: fills a mesh's databases with a shop at scale — products with categories and
 * stock, shoppers, and their order history with its payments, reservations and status history —
 * written straight into each service's own schema with multi-row inserts, so that the books
 * `npm run reconcile` checks balance as if every order had gone through the checkout saga.
 *
 * Each service's rows go in one transaction of its own, all four committed at the end (the
 * catalog's last, with its `seeds` row): a run that fails leaves nothing behind, and a second
 * run finds the row and refuses.
 */
import { randomBytes, randomUUID, scrypt } from "node:crypto";
import { uuidv7 } from "@shopmesh/platform";
import { Client } from "pg";

/** The row in the catalog's `seeds` table that marks a seeded shop. */
export const SCALE_SEED = "scale-seed-v1";

/** Every seeded shopper's email: shopper-<n>@seed.shopmesh.test, n from 1. */
export function seedShopperEmail(n: number): string {
  return `shopper-${n}@seed.shopmesh.test`;
}

/** Id of the n-th seeded product (from 1): p-seed-000001, … */
export function seedProductId(n: number): string {
  return `p-seed-${String(n).padStart(6, "0")}`;
}

/** The categories seeded products are filed under, with the things each sells. */
export const seedCategories: Readonly<Record<string, readonly string[]>> = {
  kitchen: ["Knife", "Cutting Board", "Saucepan", "Skillet", "Whisk", "Colander", "Spatula", "Grater"],
  coffee: ["Coffee Grinder", "Espresso Tamper", "Milk Jug", "Coffee Canister", "Cold Brew Jar"],
  tea: ["Teapot", "Tea Strainer", "Tea Caddy", "Matcha Bowl", "Infuser"],
  tableware: ["Plate", "Bowl", "Mug", "Tumbler", "Serving Platter", "Carafe"],
  garden: ["Watering Can", "Trowel", "Planter", "Pruning Shears", "Hose Reel"],
  outdoor: ["Camping Stool", "Lantern", "Cooler Bag", "Picnic Blanket", "Hammock"],
  office: ["Notebook", "Desk Lamp", "Pen Holder", "Monitor Stand", "Document Tray"],
  bath: ["Towel", "Soap Dish", "Bath Mat", "Toothbrush Cup", "Shower Caddy"],
  bedding: ["Pillow", "Duvet Cover", "Fitted Sheet", "Throw Blanket", "Quilt"],
  lighting: ["Table Lamp", "Pendant Light", "String Lights", "Floor Lamp", "Candle Holder"],
  tools: ["Screwdriver Set", "Hammer", "Tape Measure", "Spirit Level", "Utility Knife"],
  sports: ["Yoga Mat", "Water Bottle", "Jump Rope", "Kettlebell", "Resistance Band"],
  travel: ["Backpack", "Packing Cube", "Toiletry Bag", "Luggage Tag", "Travel Pillow"],
  pets: ["Dog Bowl", "Cat Bed", "Leash", "Pet Brush", "Chew Toy"],
  storage: ["Storage Box", "Basket", "Shelf Organizer", "Drawer Divider", "Coat Hook"],
  cleaning: ["Broom", "Dustpan", "Scrub Brush", "Spray Bottle", "Microfiber Cloth"],
};

const adjectives = [
  "Classic",
  "Compact",
  "Sturdy",
  "Minimal",
  "Rustic",
  "Modern",
  "Vintage",
  "Folding",
  "Heavy-Duty",
  "Lightweight",
  "Handmade",
  "Nordic",
  "Everyday",
  "Premium",
  "Slim",
  "Oversized",
  "Stackable",
  "Portable",
  "Soft",
  "Bold",
];
const materials = [
  "Oak",
  "Walnut",
  "Bamboo",
  "Ceramic",
  "Porcelain",
  "Stoneware",
  "Cast Iron",
  "Stainless Steel",
  "Copper",
  "Linen",
  "Cotton",
  "Wool",
  "Glass",
  "Enamel",
  "Brass",
  "Leather",
  "Cork",
  "Recycled Plastic",
  "Marble",
  "Canvas",
];
const colours = ["Black", "White", "Sage", "Terracotta", "Navy", "Mustard", "Charcoal", "Sand", "Forest", "Blush", "Slate", "Cream"];
const virtues = [
  "built to last for years of daily use",
  "easy to clean and quick to dry",
  "designed in a small studio and made in limited runs",
  "light enough to carry, solid enough to rely on",
  "finished by hand with a food-safe oil",
  "balanced for comfortable, precise handling",
  "a favourite of chefs, campers and collectors alike",
  "shipped plastic-free in recycled cardboard",
  "backed by a five-year guarantee",
  "tested for thousands of cycles before it leaves the workshop",
];
const details = [
  "Dishwasher safe.",
  "Wipe clean with a damp cloth.",
  "Fits most standard sizes.",
  "Comes in a gift box.",
  "Nests neatly for storage.",
  "Non-slip base.",
  "Rounded edges for safety.",
  "Replacement parts available.",
];
const firstNames = [
  "Ada",
  "Ben",
  "Chloé",
  "Dmitri",
  "Elena",
  "Farid",
  "Grace",
  "Hugo",
  "Ines",
  "Jonas",
  "Kiri",
  "Lena",
  "Mateo",
  "Noor",
  "Omar",
  "Priya",
];
const lastNames = [
  "Andersen",
  "Baker",
  "Costa",
  "Dubois",
  "Eriksen",
  "Fischer",
  "García",
  "Huang",
  "Ivanova",
  "Jansen",
  "Kowalski",
  "Laine",
];

/** Sizes of a seed. */
export interface SeedSize {
  readonly products: number;
  readonly orders: number;
  /** Shoppers the orders are spread over. */
  readonly users: number;
}

/** Default shoppers for `orders` orders: one per 300 orders, between 10 and 3,000. */
export function defaultUsers(orders: number): number {
  return Math.min(3000, Math.max(10, Math.ceil(orders / 300)));
}

/** What a seed wrote. */
export interface SeedSummary {
  readonly users: number;
  readonly products: number;
  readonly orders: number;
  readonly byStatus: Readonly<Record<"PAID" | "CANCELLED" | "REFUNDED", number>>;
  readonly seconds: number;
}

/** The database URLs of the four services a seed writes to. */
export interface SeedTargets {
  readonly auth: string;
  readonly catalog: string;
  readonly order: string;
  readonly payment: string;
}

export interface SeedOptions extends SeedSize {
  /** Password of every shopper. */
  readonly password: string;
  /** Told the units done so far out of the total (users + products + orders), with the step. */
  readonly onProgress?: (done: number, total: number, step: string) => void;
  /** Seed of the pseudo-random choices (default 1): the same seed makes the same shop. */
  readonly randomSeed?: number;
  /** Orders are spread over the year before this moment (default now). */
  readonly now?: Date;
}

/** A seed refused because the databases hold one already. */
export class AlreadySeededError extends Error {
  constructor(appliedAt: Date) {
    super(`the catalog was already seeded at ${appliedAt.toISOString()} (seeds row ${SCALE_SEED}); seed a fresh mesh`);
    this.name = "AlreadySeededError";
  }
}

/** Rows per insert statement. */
const BATCH = 2000;
const DAY_MS = 86_400_000;

/** Mulberry32: small, fast and good enough to make data look varied. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Column name and its Postgres type, for `insert … select * from unnest($1::type[], …)`. */
type Columns = ReadonlyArray<readonly [string, string]>;

/** Rows of one table, column by column. */
class Table {
  readonly values: unknown[][];
  constructor(
    readonly name: string,
    readonly columns: Columns,
  ) {
    this.values = columns.map(() => []);
  }
  get size(): number {
    return this.values[0]?.length ?? 0;
  }
  add(...row: unknown[]): void {
    for (let i = 0; i < row.length; i++) this.values[i]?.push(row[i]);
  }
  /** Inserts the rows held and forgets them. */
  async flush(db: Client): Promise<void> {
    if (this.size === 0) return;
    const names = this.columns.map(([n]) => n).join(", ");
    const unnest = this.columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
    await db.query(`insert into ${this.name} (${names}) select * from unnest(${unnest})`, this.values);
    for (const v of this.values) v.length = 0;
  }
}

function hashPassword(password: string): Promise<string> {
  // The auth service's format (scrypt$log2N$r$p$salt$hash), hashed once: every shopper shares it.
  const salt = randomBytes(16);
  const [log2N, r, p] = [15, 8, 1];
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFKC"), salt, 32, { N: 2 ** log2N, r, p, maxmem: 256 * 2 ** log2N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(["scrypt", log2N, r, p, salt.toString("base64url"), key.toString("base64url")].join("$")),
    );
  });
}

async function connect(url: string): Promise<Client> {
  const db = new Client({ connectionString: url });
  await db.connect();
  return db;
}

/**
 * Seeds the databases at `targets` (their schemas migrated: auth, catalog, orders, payment) with
 * `opts.products` products, `opts.users` shoppers and `opts.orders` orders. Throws
 * AlreadySeededError when the catalog holds a seed already.
 */
export async function seedShop(targets: SeedTargets, opts: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const random = prng(opts.randomSeed ?? 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const now = (opts.now ?? new Date()).getTime();
  const total = opts.users + opts.products + opts.orders;
  let done = 0;
  const progress = (n: number, step: string) => {
    done += n;
    opts.onProgress?.(done, total, step);
  };

  const dbs = {
    auth: await connect(targets.auth),
    catalog: await connect(targets.catalog),
    order: await connect(targets.order),
    payment: await connect(targets.payment),
  };
  const all = Object.values(dbs);
  try {
    await dbs.auth.query("begin; set local search_path to auth");
    await dbs.catalog.query("begin; set local search_path to catalog");
    await dbs.order.query("begin; set local search_path to orders");
    await dbs.payment.query("begin; set local search_path to payment");
    // The marker first: a seed running meanwhile waits on it, then refuses.
    const marked = await dbs.catalog.query<{ applied_at: Date }>(
      "insert into seeds (name) values ($1) on conflict (name) do nothing returning applied_at",
      [SCALE_SEED],
    );
    if (marked.rowCount === 0) {
      const { rows } = await dbs.catalog.query<{ applied_at: Date }>("select applied_at from seeds where name = $1", [SCALE_SEED]);
      throw new AlreadySeededError(rows[0]?.applied_at ?? new Date(0));
    }

    // Shoppers.
    opts.onProgress?.(0, total, "users");
    const passwordHash = await hashPassword(opts.password);
    const users = new Table("users", [
      ["id", "uuid"],
      ["email", "text"],
      ["name", "text"],
      ["password_hash", "text"],
      ["created_at", "timestamptz"],
    ]);
    const userIds: string[] = [];
    for (let n = 1; n <= opts.users; n++) {
      const id = randomUUID();
      userIds.push(id);
      users.add(id, seedShopperEmail(n), `${pick(firstNames)} ${pick(lastNames)}`, passwordHash, new Date(now - 400 * DAY_MS));
      if (users.size === BATCH || n === opts.users) {
        const rows = users.size;
        await users.flush(dbs.auth);
        progress(rows, "users");
      }
    }

    // Products and their categories; stock comes last, when the orders have told what was sold.
    const products = new Table("products", [
      ["id", "text"],
      ["name", "text"],
      ["description", "text"],
      ["price_cents", "int4"],
      ["currency", "text"],
      ["image_url", "text"],
      ["created_at", "timestamptz"],
      ["updated_at", "timestamptz"],
    ]);
    const productCategories = new Table("product_categories", [
      ["product_id", "text"],
      ["category", "text"],
      ["position", "int4"],
    ]);
    const categoryNames = Object.keys(seedCategories);
    const catalog: Array<{ id: string; name: string; price: number }> = [];
    for (let n = 1; n <= opts.products; n++) {
      const id = seedProductId(n);
      const category = pick(categoryNames);
      const noun = pick(seedCategories[category] ?? []);
      const material = pick(materials);
      const name = `${pick(adjectives)} ${material} ${noun}${random() < 0.4 ? `, ${pick(colours)}` : ""}`;
      const description = `A ${pick(adjectives).toLowerCase()} ${noun.toLowerCase()} in ${material.toLowerCase()}, ${pick(virtues)}. ${pick(details)}`;
      // Log-uniform from 2 € to 400 €, ending in 0 or 9.
      const price = Math.round(Math.exp(Math.log(200) + random() * Math.log(200)) / 10) * 10 - (random() < 0.5 ? 1 : 0);
      const at = new Date(now - 400 * DAY_MS);
      products.add(id, name, description, price, "EUR", "", at, at);
      productCategories.add(id, category, 0);
      if (random() < 0.3) {
        const second = pick(categoryNames);
        if (second !== category) productCategories.add(id, second, 1);
      }
      catalog.push({ id, name, price });
      if (products.size === BATCH || n === opts.products) {
        const rows = products.size;
        await products.flush(dbs.catalog);
        await productCategories.flush(dbs.catalog);
        progress(rows, "products");
      }
    }

    // Orders, with what each service keeps of them.
    const t = {
      orders: new Table("orders", [
        ["id", "uuid"],
        ["user_id", "text"],
        ["email", "text"],
        ["payment_method", "text"],
        ["status", "text"],
        ["cancel_reason", "text"],
        ["payment_id", "text"],
        ["total_cents", "int4"],
        ["currency", "text"],
        ["version", "int4"],
        ["created_at", "timestamptz"],
        ["updated_at", "timestamptz"],
      ]),
      items: new Table("order_items", [
        ["order_id", "uuid"],
        ["line_no", "int4"],
        ["product_id", "text"],
        ["name", "text"],
        ["unit_price_cents", "int4"],
        ["quantity", "int4"],
        ["line_total_cents", "int4"],
      ]),
      transitions: new Table("order_transitions", [
        ["order_id", "uuid"],
        ["seq", "int4"],
        ["from_status", "text"],
        ["to_status", "text"],
        ["reason", "text"],
        ["at", "timestamptz"],
      ]),
      orderRefunds: new Table("order_refunds", [
        ["order_id", "uuid"],
        ["id", "text"],
        ["lines", "jsonb"],
        ["amount_cents", "int4"],
        ["restock", "bool"],
        ["reason", "text"],
        ["requested_at", "timestamptz"],
        ["refunded_at", "timestamptz"],
      ]),
      payments: new Table("payments", [
        ["id", "uuid"],
        ["order_id", "text"],
        ["user_id", "text"],
        ["amount_cents", "int4"],
        ["currency", "text"],
        ["payment_method", "text"],
        ["card_last4", "text"],
        ["status", "text"],
        ["failure_reason", "text"],
        ["refund_reason", "text"],
        ["refunded_cents", "int4"],
        ["attempts", "int4"],
        ["provider_charge_id", "text"],
        ["created_at", "timestamptz"],
        ["updated_at", "timestamptz"],
      ]),
      checkouts: new Table("checkouts", [
        ["order_id", "text"],
        ["placed", "bool"],
        ["user_id", "text"],
        ["amount_cents", "int4"],
        ["currency", "text"],
        ["payment_method", "text"],
        ["stock", "text"],
        ["updated_at", "timestamptz"],
      ]),
      paymentRefunds: new Table("payment_refunds", [
        ["order_id", "text"],
        ["refund_id", "text"],
        ["amount_cents", "int4"],
        ["created_at", "timestamptz"],
      ]),
      reservations: new Table("reservations", [
        ["order_id", "text"],
        ["status", "text"],
        ["reason", "text"],
        ["created_at", "timestamptz"],
        ["updated_at", "timestamptz"],
        ["released_at", "timestamptz"],
      ]),
      reservationItems: new Table("reservation_items", [
        ["order_id", "text"],
        ["product_id", "text"],
        ["quantity", "int4"],
        ["available", "int4"],
      ]),
    };
    const flushOrders = () =>
      Promise.all([
        (async () => {
          await t.orders.flush(dbs.order);
          await t.items.flush(dbs.order);
          await t.transitions.flush(dbs.order);
          await t.orderRefunds.flush(dbs.order);
        })(),
        (async () => {
          await t.payments.flush(dbs.payment);
          await t.checkouts.flush(dbs.payment);
          await t.paymentRefunds.flush(dbs.payment);
        })(),
        (async () => {
          await t.reservations.flush(dbs.catalog);
          await t.reservationItems.flush(dbs.catalog);
        })(),
      ]);
    /** Units each product sold (paid and refunded orders): held by their reservations for good. */
    const sold = new Int32Array(opts.products);
    const byStatus = { PAID: 0, CANCELLED: 0, REFUNDED: 0 };
    let pending = 0;
    for (let n = 0; n < opts.orders; n++) {
      const userNo = Math.floor(random() * opts.users);
      const userId = userIds[userNo] as string;
      const email = seedShopperEmail(userNo + 1);
      const placedAt = now - 10 * 60_000 - Math.floor(random() * 365 * DAY_MS);
      const orderId = uuidv7(placedAt);
      const roll = random();
      const status = roll < 0.9 ? "PAID" : roll < 0.96 ? "CANCELLED" : "REFUNDED";
      byStatus[status]++;
      // 1–4 lines of distinct products, popular ones (low numbers) more often; 1–3 units each.
      const lines = new Map<number, number>();
      for (let l = between(1, 4); l > 0; l--) lines.set(Math.floor(random() ** 2 * opts.products), between(1, 3));
      let totalCents = 0;
      let lineNo = 0;
      for (const [p, quantity] of lines) {
        const product = catalog[p] as { id: string; name: string; price: number };
        totalCents += product.price * quantity;
        t.items.add(orderId, ++lineNo, product.id, product.name, product.price, quantity, product.price * quantity);
        t.reservationItems.add(orderId, product.id, quantity, quantity + between(0, 200));
        if (status !== "CANCELLED") sold[p] = (sold[p] ?? 0) + quantity;
      }
      const at = (ms: number) => new Date(placedAt + ms);
      const paymentId = uuidv7(placedAt + 400);
      // Refunded 1–30 days after, never later than a minute ago.
      const lastAt = status === "REFUNDED" ? new Date(Math.min(placedAt + between(1, 30) * DAY_MS, now - 60_000)) : at(900);
      t.orders.add(
        orderId,
        userId,
        email,
        "",
        status,
        status === "CANCELLED" ? "payment_declined" : null,
        paymentId,
        totalCents,
        "EUR",
        status === "REFUNDED" ? 4 : 3,
        at(0),
        lastAt,
      );
      t.transitions.add(orderId, 1, "UNSPECIFIED", "PENDING", "placed", at(0));
      t.transitions.add(orderId, 2, "PENDING", "STOCK_RESERVED", "stock_reserved", at(200));
      t.transitions.add(
        orderId,
        3,
        "STOCK_RESERVED",
        status === "CANCELLED" ? "CANCELLED" : "PAID",
        status === "CANCELLED" ? "payment_declined" : "paid",
        at(900),
      );
      t.checkouts.add(orderId, true, userId, totalCents, "EUR", "", "reserved", at(200));
      t.reservations.add(
        orderId,
        status === "CANCELLED" ? "released" : "reserved",
        status === "CANCELLED" ? "payment_failed" : null,
        at(100),
        status === "CANCELLED" ? at(1000) : at(100),
        status === "CANCELLED" ? at(1000) : null,
      );
      if (status === "REFUNDED") {
        const refundId = randomUUID();
        const refundLines = JSON.stringify([...lines].map(([p, quantity]) => ({ productId: catalog[p]?.id, quantity })));
        t.transitions.add(orderId, 4, "PAID", "REFUNDED", "refunded", lastAt);
        t.orderRefunds.add(orderId, refundId, refundLines, totalCents, false, "customer_request", lastAt, lastAt);
        t.paymentRefunds.add(orderId, refundId, totalCents, lastAt);
      }
      t.payments.add(
        paymentId,
        orderId,
        userId,
        totalCents,
        "EUR",
        "pm_test_ok",
        "4242",
        status === "PAID" ? "SUCCEEDED" : status === "REFUNDED" ? "REFUNDED" : "FAILED",
        status === "CANCELLED" ? "declined" : null,
        status === "REFUNDED" ? "customer_request" : null,
        status === "REFUNDED" ? totalCents : 0,
        1,
        status === "CANCELLED" ? null : `ch_seed_${orderId.replaceAll("-", "")}`,
        at(400),
        status === "REFUNDED" ? lastAt : at(800),
      );
      pending++;
      if (t.orders.size === BATCH || n === opts.orders - 1) {
        await flushOrders();
        progress(pending, "orders");
        pending = 0;
      }
    }

    // Stock: what was received (one adjustment each) covers what was sold, with some left.
    opts.onProgress?.(done, total, "stock");
    const stock = new Table("stock", [
      ["product_id", "text"],
      ["on_hand", "int4"],
      ["reserved", "int4"],
      ["updated_at", "timestamptz"],
    ]);
    const adjustments = new Table("stock_adjustments", [
      ["product_id", "text"],
      ["delta", "int4"],
      ["reason", "text"],
      ["on_hand_after", "int4"],
      ["created_at", "timestamptz"],
    ]);
    const received = new Date(now - 400 * DAY_MS);
    for (let p = 0; p < opts.products; p++) {
      const id = seedProductId(p + 1);
      const reserved = sold[p] ?? 0;
      const onHand = reserved + (random() < 0.05 ? 0 : between(5, 500));
      stock.add(id, onHand, reserved, new Date(now));
      adjustments.add(id, onHand, "received", onHand, received);
      if (stock.size === BATCH || p === opts.products - 1) {
        await stock.flush(dbs.catalog);
        await adjustments.flush(dbs.catalog);
      }
    }

    opts.onProgress?.(done, total, "commit");
    for (const db of [dbs.auth, dbs.payment, dbs.order, dbs.catalog]) await db.query("commit");
    // Fresh statistics, so that the planner knows the tables' new sizes at once, and a vacuum:
    // it sets the visibility map (index-only scans) and moves the rows bulk-inserted into the GIN
    // search index's pending list into the index proper, which a search would otherwise scan
    // row by row (a 100,000-product catalog's common word: 9 ms in the list, 2 ms in the index).
    opts.onProgress?.(done, total, "vacuum");
    await Promise.all(all.map((db) => db.query("vacuum (analyze)")));
    return { users: opts.users, products: opts.products, orders: opts.orders, byStatus, seconds: (performance.now() - started) / 1000 };
  } finally {
    await Promise.all(all.map((db) => db.end().catch(() => undefined)));
  }
}

/**
 * Draws a progress bar on `stream`: one line redrawn in place on a terminal, otherwise a plain
 * line per step and every tenth of the way.
 */
export function progressBar(stream: NodeJS.WriteStream): { update: (done: number, total: number, step: string) => void; end: () => void } {
  const started = performance.now();
  let lastTenth = -1;
  let lastStep = "";
  let lastDraw = 0;
  return {
    update(done, total, step) {
      const fraction = total === 0 ? 1 : done / total;
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      if (stream.isTTY) {
        const nowMs = performance.now();
        if (nowMs - lastDraw < 100 && step === lastStep && done < total) return;
        lastDraw = nowMs;
        lastStep = step;
        const width = 30;
        const full = Math.round(fraction * width);
        stream.write(
          `\r[${"#".repeat(full)}${".".repeat(width - full)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done}/${total} ${step} ${elapsed} s\x1b[K`,
        );
        return;
      }
      const tenth = Math.floor(fraction * 10);
      if (tenth === lastTenth && step === lastStep) return;
      lastTenth = tenth;
      lastStep = step;
      stream.write(`seed: ${(fraction * 100).toFixed(0)}% (${done}/${total}) ${step}, ${elapsed} s\n`);
    },
    end() {
      if (stream.isTTY) stream.write("\n");
    },
  };
}
