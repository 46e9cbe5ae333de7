// The checkout scenario: concurrent shoppers, each its own signed-up user, buying one unit at a
// time through the edge's REST routes (the launcher's `Shopper`, global fetch = undici with
// keep-alive) and following each order to `paid` on the Connect server stream
// `shop.order.v1.OrderService/StreamOrders`.
//
// The stream rather than polling GET /api/orders/{id}: the server pushes each transition as it
// commits, so the paid moment is observed one push later instead of up to one poll interval
// plus a round trip later, and a checkout costs one extra request instead of one per poll.
// The stream is opened once POST /api/checkout has answered; it starts with the current status,
// so an order paid before the stream is open is seen as paid at once.
import { RestError, rest, Shopper } from "@shopmesh/launcher";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import type { TreeCpu } from "./proc-status.js";
import { HarnessError } from "./system.js";

export const STREAM_ORDERS_METHOD = `${OrderService.typeName}/${OrderService.method.streamOrders.name}`;
/** Checkouts per shopper before the measured ones. */
export const CHECKOUT_WARMUP_PER_SHOPPER = 2;
/** An order not paid or cancelled this long after sending POST /api/checkout is stuck. */
export const CHECKOUT_FINAL_TIMEOUT_MS = 10_000;

export interface CheckoutOptions {
  readonly shoppers: number;
  /** Measured checkouts per shopper. */
  readonly checkoutsPerShopper: number;
  /** Checkouts per shopper before the measured ones, not counted. */
  readonly warmupPerShopper: number;
  /** From sending POST /api/checkout: an order not final by then is stuck. */
  readonly finalTimeoutMs: number;
  readonly log?: (msg: string) => void;
  /** Called for each measured checkout that reached paid. */
  readonly onPaid?: (paid: PaidCheckout) => void;
  /** CPU time the system under test has used so far: its own process, and the processes below it (its database). */
  readonly systemCpu?: () => TreeCpu;
  /** SQL statements and transactions the system's databases have run so far, as they count them. */
  readonly sqlCounts?: () => Promise<SqlCounts>;
}

/** What a database server counts: statements executed and transactions committed. */
export interface SqlCounts {
  readonly statements: number;
  readonly transactions: number;
}

/** A measured checkout that reached paid; times are epoch milliseconds (fractional). */
export interface PaidCheckout {
  readonly orderId: string;
  /** POST /api/checkout sent. */
  readonly sentAt: number;
  /** The stream said paid. */
  readonly paidAt: number;
}

/** Milliseconds, nearest-rank percentiles over every sample. */
export interface Percentiles {
  readonly samples: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface OutcomeCounts {
  readonly attempted: number;
  readonly paid: number;
  /** Cancelled orders, non-2xx answers, stream errors, network errors. */
  readonly failed: number;
  /** Not final within `finalTimeoutMs` of sending POST /api/checkout. */
  readonly stuck: number;
  /** Non-2xx HTTP answers among the failures. */
  readonly non2xx: number;
}

export interface CheckoutFigures extends OutcomeCounts {
  readonly shoppers: number;
  readonly checkoutsPerShopper: number;
  readonly warmupPerShopper: number;
  readonly finalTimeoutMs: number;
  readonly paidObservedVia: string;
  /** Wall time of the measured checkouts, from the last shopper leaving the warm-up to the last one done. */
  readonly durationS: number;
  /** Paid checkouts per second of `durationS`. */
  readonly checkoutsPerSecond: number;
  /** CPU the bench process itself used during `durationS`, % of one core: a busy client would skew the figures. */
  readonly benchCpuPercent: number;
  /** CPU of the system under test (every process, its databases included) per measured checkout, ms. */
  readonly cpuMsPerCheckout?: number;
  /** Of {@link cpuMsPerCheckout}: the system's own process (every thread of it), ms. */
  readonly ownCpuMsPerCheckout?: number;
  /** Of {@link cpuMsPerCheckout}: the processes below it (its database server), ms. */
  readonly childrenCpuMsPerCheckout?: number;
  /** SQL statements and transactions per measured checkout, as the database server counted them. */
  readonly sqlPerCheckout?: SqlCounts;
  /** Sending POST /api/checkout → the stream message saying `paid` (paid checkouts). */
  readonly checkoutToPaidMs: Percentiles | undefined;
  /** POST /api/checkout alone, every answered call whatever its status. */
  readonly placeOrderMs: Percentiles | undefined;
  /** POST /api/cart/items before each checkout (not part of checkout → paid). */
  readonly addItemMs: Percentiles | undefined;
  /**
   * Our wall clock when the stream said `paid` minus the time of the PAID transition it carries
   * (same machine): how late the stream reports, 1 ms resolution.
   */
  readonly paidNoticeLagMs: Percentiles | undefined;
  /** Count per failure reason ("checkout: http 409", "cancelled: out_of_stock", "stuck"…). */
  readonly failures: Readonly<Record<string, number>>;
  /** The first few failure messages, for diagnosis. */
  readonly failureSamples: readonly string[];
  readonly warmup: OutcomeCounts;
  /** Units available over the whole catalog before and after the scenario (both phases). */
  readonly stock: { readonly products: number; readonly before: number; readonly after: number; readonly plannedUnits: number };
}

interface Product {
  readonly id: string;
  readonly stock: number;
}

type Outcome =
  | {
      readonly kind: "paid";
      readonly orderId: string;
      /** performance.now() when POST /api/checkout was sent. */
      readonly sent: number;
      readonly addItemMs: number;
      readonly placeOrderMs: number;
      readonly checkoutToPaidMs: number;
      readonly noticeLagMs: number | undefined;
    }
  | {
      readonly kind: "failed" | "stuck";
      readonly reason: string;
      readonly detail: string;
      readonly non2xx: boolean;
      readonly addItemMs?: number;
      readonly placeOrderMs?: number;
    };

const FAILURE_SAMPLES = 5;

/** Every product of `GET /api/products`, all pages. */
export async function listProducts(baseUrl: string): Promise<Product[]> {
  const products: Product[] = [];
  let pageToken = "";
  do {
    const query = `page_size=100${pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ""}`;
    const res = await rest<{ items?: Array<{ id?: unknown; stock?: unknown }>; next_page_token?: string }>(
      baseUrl,
      "GET",
      `/api/products?${query}`,
    );
    if (res.status !== 200) throw new HarnessError(`GET /api/products?${query} → ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    for (const item of res.body.items ?? []) {
      if (typeof item.id !== "string") throw new HarnessError(`GET /api/products: an item without an id: ${JSON.stringify(item)}`);
      products.push({ id: item.id, stock: typeof item.stock === "number" ? item.stock : 0 });
    }
    pageToken = res.body.next_page_token ?? "";
  } while (pageToken !== "");
  return products;
}

/**
 * `count` product ids, interleaved round-robin and weighted by stock (smooth weighted round
 * robin): over any prefix a product comes up at most as often as its stock allows, so as long
 * as `count` ≤ the total stock no product runs out.
 */
export function stockWeightedPlan(products: readonly Product[], count: number): string[] {
  const inStock = products.filter((p) => p.stock > 0);
  const total = inStock.reduce((sum, p) => sum + p.stock, 0);
  if (count > total) {
    throw new HarnessError(
      `the checkout scenario needs ${count} units but the catalog has ${total} in stock: lower BENCH_SHOPPERS or BENCH_CHECKOUTS_PER_SHOPPER`,
    );
  }
  const current = inStock.map(() => 0);
  const plan: string[] = [];
  for (let n = 0; n < count; n++) {
    let best = 0;
    for (let i = 0; i < inStock.length; i++) {
      current[i] = (current[i] as number) + (inStock[i] as Product).stock;
      if ((current[i] as number) > (current[best] as number)) best = i;
    }
    current[best] = (current[best] as number) - total;
    plan.push((inStock[best] as Product).id);
  }
  return plan;
}

export const round2 = (n: number) => Math.round(n * 100) / 100;

export function percentiles(samples: readonly number[]): Percentiles | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
  return {
    samples: sorted.length,
    p50: round2(at(50)),
    p95: round2(at(95)),
    p99: round2(at(99)),
    max: round2(sorted[sorted.length - 1] as number),
    mean: round2(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** Races `promise` against a timer (`Shopper` calls take no signal; the request itself runs on). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function failure(
  stage: string,
  err: unknown,
  extra: { addItemMs?: number; placeOrderMs?: number } = {},
): Extract<Outcome, { kind: "failed" | "stuck" }> {
  if (err instanceof RestError) {
    return { kind: "failed", reason: `${stage}: http ${err.reply.status}`, detail: err.message, non2xx: true, ...extra };
  }
  if (err instanceof ConnectError && err.code !== Code.DeadlineExceeded && err.code !== Code.Canceled) {
    return { kind: "failed", reason: `${stage}: ${Code[err.code]}`, detail: err.message, non2xx: true, ...extra };
  }
  // Ours, or the DOMException of an AbortSignal.timeout().
  if (
    err instanceof TimeoutError ||
    (err as { name?: unknown } | undefined)?.name === "TimeoutError" ||
    (err instanceof ConnectError && (err.code === Code.DeadlineExceeded || err.code === Code.Canceled))
  ) {
    return { kind: "stuck", reason: `stuck (${stage})`, detail: errorText(err), non2xx: false, ...extra };
  }
  const name = err instanceof Error ? err.name : "error";
  return { kind: "failed", reason: `${stage}: ${name}`, detail: errorText(err), non2xx: false, ...extra };
}

/** Add one unit to the cart, check out, follow the order until it is final or the deadline. */
async function checkoutOnce(
  orders: Client<typeof OrderService>,
  shopper: Shopper,
  productId: string,
  finalTimeoutMs: number,
): Promise<Outcome> {
  const addStart = performance.now();
  try {
    await within(shopper.addItem(productId, 1), finalTimeoutMs, "add to cart");
  } catch (err) {
    const outcome = failure("add to cart", err);
    return outcome.kind === "stuck" ? { ...outcome, kind: "failed" } : outcome;
  }
  const addItemMs = performance.now() - addStart;

  const sent = performance.now();
  let orderId: string;
  try {
    orderId = (await within(shopper.checkout(), finalTimeoutMs, "POST /api/checkout")).order_id;
  } catch (err) {
    // Whatever the cart holds would go into the next order: start it empty.
    await within(shopper.call("DELETE", "/api/cart"), finalTimeoutMs, "clear cart").catch(() => undefined);
    return failure("checkout", err, { addItemMs, ...(err instanceof RestError ? { placeOrderMs: performance.now() - sent } : {}) });
  }
  const placeOrderMs = performance.now() - sent;

  let paidAt: number | undefined;
  let noticeLagMs: number | undefined;
  let cancelReason: string | undefined;
  try {
    const remaining = Math.max(1, Math.ceil(sent + finalTimeoutMs - performance.now()));
    const stream = orders.streamOrders(
      { orderIds: [orderId] },
      { headers: { authorization: `Bearer ${shopper.token}` }, signal: AbortSignal.timeout(remaining) },
    );
    for await (const { update } of stream) {
      if (update?.status === OrderStatus.PAID && paidAt === undefined) {
        paidAt = performance.now();
        if (update.transition?.at) noticeLagMs = Date.now() - timestampMs(update.transition.at);
      } else if (update?.status === OrderStatus.CANCELLED) {
        cancelReason = update?.cancelReason || "no reason";
      }
      // Read on to the end of the stream (the server ends it once the order is final), so that
      // the connection is reused.
    }
  } catch (err) {
    if (paidAt === undefined) {
      const outcome = failure("order stream", err, { addItemMs, placeOrderMs });
      return { ...outcome, detail: `order ${orderId}: ${outcome.detail}` };
    }
  }
  if (paidAt !== undefined) return { kind: "paid", orderId, sent, addItemMs, placeOrderMs, checkoutToPaidMs: paidAt - sent, noticeLagMs };
  if (cancelReason !== undefined) {
    const detail = `order ${orderId} cancelled: ${cancelReason}`;
    return { kind: "failed", reason: `cancelled: ${cancelReason}`, detail, non2xx: false, addItemMs, placeOrderMs };
  }
  const detail = `order ${orderId}: the stream ended without paid or cancelled`;
  return { kind: "failed", reason: "order stream: ended before final", detail, non2xx: false, addItemMs, placeOrderMs };
}

function counts(outcomes: readonly Outcome[]): OutcomeCounts {
  const of = (kind: Outcome["kind"]) => outcomes.filter((o) => o.kind === kind).length;
  return {
    attempted: outcomes.length,
    paid: of("paid"),
    failed: of("failed"),
    stuck: of("stuck"),
    non2xx: outcomes.filter((o) => o.kind !== "paid" && o.non2xx).length,
  };
}

export async function runCheckout(baseUrl: string, opts: CheckoutOptions): Promise<CheckoutFigures> {
  const log = opts.log ?? (() => undefined);
  const products = await listProducts(baseUrl);
  const stockBefore = products.reduce((sum, p) => sum + Math.max(0, p.stock), 0);
  const plannedUnits = opts.shoppers * (opts.warmupPerShopper + opts.checkoutsPerShopper);
  const plan = stockWeightedPlan(products, plannedUnits);
  let next = 0;
  const pick = () => plan[next++] as string;
  // The Connect protocol over HTTP/1.1, as a browser would follow an order.
  const orders = createClient(OrderService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));

  const tag = `${Date.now().toString(36)}-${process.pid}`;
  const shoppers = await Promise.all(
    Array.from({ length: opts.shoppers }, (_, i) =>
      Shopper.signup(baseUrl, `bench-${tag}-${i}@example.com`).catch((err: unknown) => {
        throw new HarnessError(`signup of shopper ${i}: ${errorText(err)}`);
      }),
    ),
  );
  log(
    `checkout: ${shoppers.length} shoppers signed up; ${products.length} products, ${stockBefore} units in stock, ${plannedUnits} to buy`,
  );

  const phase = async (perShopper: number): Promise<Outcome[]> => {
    const outcomes: Outcome[] = [];
    await Promise.all(
      shoppers.map(async (shopper) => {
        for (let i = 0; i < perShopper; i++) outcomes.push(await checkoutOnce(orders, shopper, pick(), opts.finalTimeoutMs));
      }),
    );
    return outcomes;
  };

  const warmup = await phase(opts.warmupPerShopper);
  const warmupCounts = counts(warmup);
  if (warmupCounts.paid === 0) {
    // Measuring would only wait out the timeout of every checkout.
    const first = warmup[0];
    throw new HarnessError(
      `no warm-up checkout reached paid (${warmupCounts.failed} failed, ${warmupCounts.stuck} stuck of ${warmupCounts.attempted})` +
        (first && first.kind !== "paid" ? `, e.g. ${first.detail}` : ""),
    );
  }
  log(`checkout: warm-up ${warmupCounts.paid}/${warmupCounts.attempted} paid; measuring ${opts.shoppers} × ${opts.checkoutsPerShopper}`);
  const sqlBefore = await opts.sqlCounts?.();
  const systemCpuBefore = opts.systemCpu?.();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const measured = await phase(opts.checkoutsPerShopper);
  const cpu = process.cpuUsage(cpuBefore);
  const durationS = (performance.now() - started) / 1000;
  const systemCpuAfter = opts.systemCpu?.();
  const systemCpu =
    systemCpuBefore && systemCpuAfter
      ? {
          own: systemCpuAfter.ownMs - systemCpuBefore.ownMs,
          total: systemCpuAfter.ownMs + systemCpuAfter.childrenMs - systemCpuBefore.ownMs - systemCpuBefore.childrenMs,
        }
      : undefined;
  const sqlAfter = sqlBefore && (await opts.sqlCounts?.());

  for (const o of measured) {
    if (o.kind !== "paid") continue;
    const sentAt = performance.timeOrigin + o.sent;
    opts.onPaid?.({ orderId: o.orderId, sentAt, paidAt: sentAt + o.checkoutToPaidMs });
  }

  const stockAfter = (await listProducts(baseUrl)).reduce((sum, p) => sum + Math.max(0, p.stock), 0);
  const measuredCounts = counts(measured);
  const paid = measured.flatMap((o) => (o.kind === "paid" ? [o] : []));
  const failures: Record<string, number> = {};
  const failureSamples: string[] = [];
  for (const o of measured) {
    if (o.kind === "paid") continue;
    failures[o.reason] = (failures[o.reason] ?? 0) + 1;
    if (failureSamples.length < FAILURE_SAMPLES) failureSamples.push(o.detail);
  }
  return {
    shoppers: opts.shoppers,
    checkoutsPerShopper: opts.checkoutsPerShopper,
    warmupPerShopper: opts.warmupPerShopper,
    finalTimeoutMs: opts.finalTimeoutMs,
    paidObservedVia: `Connect server stream ${STREAM_ORDERS_METHOD}`,
    durationS: round2(durationS),
    ...measuredCounts,
    checkoutsPerSecond: round2(measuredCounts.paid / durationS),
    benchCpuPercent: Math.round((cpu.user + cpu.system) / 1e4 / durationS),
    ...(systemCpu && measured.length > 0
      ? {
          cpuMsPerCheckout: round2(systemCpu.total / measured.length),
          ownCpuMsPerCheckout: round2(systemCpu.own / measured.length),
          childrenCpuMsPerCheckout: round2((systemCpu.total - systemCpu.own) / measured.length),
        }
      : {}),
    ...(sqlBefore && sqlAfter && measured.length > 0
      ? {
          sqlPerCheckout: {
            statements: round2((sqlAfter.statements - sqlBefore.statements) / measured.length),
            transactions: round2((sqlAfter.transactions - sqlBefore.transactions) / measured.length),
          },
        }
      : {}),
    checkoutToPaidMs: percentiles(paid.map((o) => o.checkoutToPaidMs)),
    placeOrderMs: percentiles(measured.flatMap((o) => (o.placeOrderMs === undefined ? [] : [o.placeOrderMs]))),
    addItemMs: percentiles(measured.flatMap((o) => (o.addItemMs === undefined ? [] : [o.addItemMs]))),
    paidNoticeLagMs: percentiles(paid.flatMap((o) => (o.noticeLagMs === undefined ? [] : [o.noticeLagMs]))),
    failures,
    failureSamples,
    warmup: warmupCounts,
    stock: { products: products.length, before: stockBefore, after: stockAfter, plannedUnits },
  };
}
