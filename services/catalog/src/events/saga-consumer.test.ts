import { create } from "@bufbuild/protobuf";
import {
  closeClient,
  type createClient,
  createEnvelope,
  createEventRegistry,
  createInProcessBus,
  createLogger,
  type Envelope,
} from "@shopmesh/platform";
import {
  createTestClient,
  createTestTokenIssuer,
  forEachBackend,
  useTestDatabase,
  testTlsEnv,
  waitUntil,
} from "@shopmesh/platform/testing";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { StockRejectedSchema, StockReleasedSchema, StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { OrderCancelledSchema, OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { PaymentFailedSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewProduct } from "../domain/product.js";
import { readCatalogConfig } from "../config.js";
import type { CatalogDb } from "../db/tables.js";
import { type CatalogServer, createCatalogServer } from "../server.js";
import { PAYMENT_FAILED_REASON } from "./saga-consumer.js";

/** Signs the tokens the catalog verifies (operators' calls). */
const issuer = await createTestTokenIssuer();

/**
 * The catalog's part of the checkout saga through the bus contract: the saga's events are
 * published as their producers would, onto a real in-process bus, and the catalog is observed
 * through its gRPC API and the events it publishes.
 */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const registry = createEventRegistry([StockReservedSchema, StockRejectedSchema, StockReleasedSchema]);
const STOCK_TYPES = [StockReservedSchema, StockRejectedSchema, StockReleasedSchema].map((s) => s.typeName);

let seq = 0;
function product(onHand: number): NewProduct {
  seq++;
  const id = `p-saga-${seq}-${Math.random().toString(36).slice(2, 8)}`;
  return { id, name: `Saga ${seq}`, description: "", priceCents: 500, currency: "EUR", imageUrl: "", categories: ["misc"], onHand };
}

let orders = 0;
const newOrderId = (name: string) => `o-${name}-${++orders}-${Math.random().toString(36).slice(2, 8)}`;

function orderPlaced(orderId: string, items: ReadonlyArray<{ productId: string; quantity: number }>): Envelope {
  const message = create(OrderPlacedSchema, {
    orderId,
    userId: "u-1",
    items: items.map((it) => ({ ...it, name: it.productId, unitPriceCents: 500, lineTotalCents: 500 * it.quantity })),
    totalCents: items.reduce((sum, it) => sum + 500 * it.quantity, 0),
    currency: "EUR",
  });
  return createEnvelope(OrderPlacedSchema, message, { source: "order", key: orderId });
}

function orderCancelled(orderId: string, reason: string): Envelope {
  return createEnvelope(OrderCancelledSchema, create(OrderCancelledSchema, { orderId, userId: "u-1", reason }), {
    source: "order",
    key: orderId,
  });
}

function paymentFailed(orderId: string): Envelope {
  const message = create(PaymentFailedSchema, { paymentId: `pay-${orderId}`, orderId, userId: "u-1", reason: "declined" });
  return createEnvelope(PaymentFailedSchema, message, { source: "payment", key: orderId });
}

forEachBackend((backend) => {
  describe(`catalog saga consumer (${backend.name})`, () => {
    const t = useTestDatabase(backend);
    const bus = createInProcessBus({ logger, retry: { initialMs: 5, maxMs: 50 } });
    const published: Envelope[] = [];
    let service: CatalogServer;
    let client: ReturnType<typeof createClient<typeof CatalogService>>;
    const db = () => t.kysely<CatalogDb>();

    beforeAll(async () => {
      bus.subscribe("test-tap", STOCK_TYPES, async (e) => {
        published.push(e);
      });
      service = createCatalogServer({
        config: readCatalogConfig({ ...testTlsEnv(), DB_SCHEMA: t.schema, SEED_DEMO_CATALOG: "false" }),
        verifier: issuer.verifier,
        db: t.db,
        logger,
        host: "127.0.0.1",
        port: 0,
        bus,
      });
      await service.start();
      client = createTestClient(CatalogService, `127.0.0.1:${service.port}`);
    });

    afterAll(async () => {
      if (client) closeClient(client);
      await service?.stop();
      await bus.close();
    });

    const stock = async (id: string) => (await client.getProduct({ id })).product?.stock;
    const addProduct = async (onHand: number) => {
      const p = product(onHand);
      await service.catalog.addProducts([p]);
      return p.id;
    };
    /** The catalog's events about `orderId`, in publication order. */
    const eventsFor = (orderId: string) => published.filter((e) => e.key === orderId);

    /** Waits until every delivery is handled and the outbox relay has published every row. */
    async function settled(): Promise<void> {
      await waitUntil(
        async () => {
          await bus.drain();
          const { n } = await db()
            .selectFrom("outbox")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("published_at", "is", null)
            .executeTakeFirstOrThrow();
          return Number(n) === 0;
        },
        { what: "the outbox to drain" },
      );
      await bus.drain();
    }

    /** Publishes `events` as their producers' relays would, then waits for the catalog to be done with them. */
    async function deliver(...events: Envelope[]): Promise<void> {
      await bus.publish(events);
      await settled();
    }

    /**
     * Postgres only: while `fn` runs, every transaction that records an inbox row waits at its
     * COMMIT (a deferred constraint trigger takes an advisory lock held here). `blocked()`
     * resolves once one is waiting there.
     */
    async function holdingCommits(fn: (blocked: () => Promise<void>) => Promise<void>): Promise<void> {
      const key = Math.floor(Math.random() * 2 ** 31);
      await sql`
        create function hold_commit() returns trigger language plpgsql as $$
        begin
          perform pg_advisory_xact_lock_shared(${sql.lit(key)});
          return null;
        end $$`.execute(db());
      await sql`
        create constraint trigger inbox_hold_commit after insert on inbox
        deferrable initially deferred for each row execute function hold_commit()`.execute(db());
      try {
        await db()
          .transaction()
          .execute(async (trx) => {
            await sql`select pg_advisory_xact_lock(${sql.lit(key)})`.execute(trx);
            await fn(() =>
              waitUntil(
                async () => {
                  // Activity is read as of the transaction's first look unless the snapshot is cleared.
                  await sql`select pg_stat_clear_snapshot()`.execute(trx);
                  const { rows } = await sql<{ n: number }>`
                    select count(*)::int as n from pg_stat_activity
                    where wait_event_type = 'Lock' and wait_event = 'advisory' and query = 'commit'`.execute(trx);
                  return rows[0]!.n > 0;
                },
                { timeoutMs: 5_000, intervalMs: 20, what: "a transaction to wait at its commit" },
              ),
            );
          });
      } finally {
        await sql`drop trigger inbox_hold_commit on inbox`.execute(db());
        await sql`drop function hold_commit()`.execute(db());
      }
    }

    it("OrderPlaced reserves the items and publishes StockReserved", async () => {
      const [a, b] = [await addProduct(10), await addProduct(3)];
      const orderId = newOrderId("placed");
      await deliver(
        orderPlaced(orderId, [
          { productId: a, quantity: 2 },
          { productId: b, quantity: 3 },
        ]),
      );
      expect([await stock(a), await stock(b)]).toEqual([8, 0]);
      const events = eventsFor(orderId);
      expect(events.map((e) => e.type)).toEqual([StockReservedSchema.typeName]);
      const reserved = registry.decodeAs(StockReservedSchema, events[0]!);
      expect(reserved.orderId).toBe(orderId);
      expect(reserved.items.map((i) => [i.productId, i.quantity]).sort()).toEqual(
        [
          [a, 2],
          [b, 3],
        ].sort(),
      );
    });

    it("OrderPlaced for more units than available publishes StockRejected(out_of_stock) and holds nothing", async () => {
      const [a, b] = [await addProduct(10), await addProduct(3)];
      const orderId = newOrderId("short");
      await deliver(
        orderPlaced(orderId, [
          { productId: a, quantity: 2 },
          { productId: b, quantity: 4 },
        ]),
      );
      expect([await stock(a), await stock(b)]).toEqual([10, 3]);
      const events = eventsFor(orderId);
      expect(events.map((e) => e.type)).toEqual([StockRejectedSchema.typeName]);
      const rejected = registry.decodeAs(StockRejectedSchema, events[0]!);
      expect(rejected.reason).toBe("out_of_stock");
      expect(rejected.shortages.map((s) => [s.productId, s.requested, s.available])).toEqual([[b, 4, 3]]);
    });

    it("OrderPlaced with an unknown product publishes StockRejected(unknown_product) and holds nothing", async () => {
      const a = await addProduct(10);
      const orderId = newOrderId("unknown");
      await deliver(
        orderPlaced(orderId, [
          { productId: a, quantity: 1 },
          { productId: "p-ghost", quantity: 1 },
        ]),
      );
      expect(await stock(a)).toBe(10);
      const [event, ...more] = eventsFor(orderId);
      expect(more).toEqual([]);
      const rejected = registry.decodeAs(StockRejectedSchema, event!);
      expect(rejected.reason).toBe("unknown_product");
      expect(rejected.shortages.map((s) => [s.productId, s.available])).toEqual([["p-ghost", 0]]);
    });

    it("the same OrderPlaced delivered twice reserves once and publishes one StockReserved", async () => {
      const a = await addProduct(10);
      const orderId = newOrderId("twice");
      const event = orderPlaced(orderId, [{ productId: a, quantity: 4 }]);
      await deliver(event, event);
      await deliver(event);
      expect(await stock(a)).toBe(6);
      expect(eventsFor(orderId).map((e) => e.type)).toEqual([StockReservedSchema.typeName]);
      // Another OrderPlaced event for the same order (a producer re-emitting it) replays the outcome.
      await deliver(orderPlaced(orderId, [{ productId: a, quantity: 4 }]));
      expect(await stock(a)).toBe(6);
      expect(eventsFor(orderId)).toHaveLength(1);
      const inbox = await db().selectFrom("inbox").select("event_id").where("event_id", "=", event.id).execute();
      expect(inbox).toHaveLength(1);
    });

    it(`PaymentFailed after a reservation returns the stock once and publishes StockReleased(${PAYMENT_FAILED_REASON})`, async () => {
      const a = await addProduct(5);
      const orderId = newOrderId("payment-failed");
      await deliver(orderPlaced(orderId, [{ productId: a, quantity: 5 }]));
      expect(await stock(a)).toBe(0);

      const failed = paymentFailed(orderId);
      await deliver(failed, failed);
      expect(await stock(a)).toBe(5);
      // Another failure event, and the order's cancellation that follows it, change nothing.
      await deliver(paymentFailed(orderId), orderCancelled(orderId, "payment_declined"));
      expect(await stock(a)).toBe(5);

      const events = eventsFor(orderId);
      expect(events.map((e) => e.type)).toEqual([StockReservedSchema.typeName, StockReleasedSchema.typeName]);
      const released = registry.decodeAs(StockReleasedSchema, events[1]!);
      expect(released.reason).toBe(PAYMENT_FAILED_REASON);
      expect(released.items.map((i) => [i.productId, i.quantity])).toEqual([[a, 5]]);
    });

    it("OrderCancelled releases held stock with the order's reason", async () => {
      const a = await addProduct(5);
      const orderId = newOrderId("cancelled");
      await deliver(orderPlaced(orderId, [{ productId: a, quantity: 2 }]));
      await deliver(orderCancelled(orderId, "customer_request"));
      expect(await stock(a)).toBe(5);
      const events = eventsFor(orderId);
      expect(events.map((e) => e.type)).toEqual([StockReservedSchema.typeName, StockReleasedSchema.typeName]);
      expect(registry.decodeAs(StockReleasedSchema, events[1]!).reason).toBe("customer_request");
    });

    it("OrderCancelled after a rejection changes nothing", async () => {
      const a = await addProduct(1);
      const orderId = newOrderId("rejected-cancelled");
      await deliver(orderPlaced(orderId, [{ productId: a, quantity: 2 }]));
      const before = await client.getProduct({ id: a });
      await deliver(orderCancelled(orderId, "out_of_stock"));
      const after = await client.getProduct({ id: a });
      expect(after.product?.stock).toBe(1);
      expect(after.product?.updatedAt).toEqual(before.product?.updatedAt);
      expect(eventsFor(orderId).map((e) => e.type)).toEqual([StockRejectedSchema.typeName]);
      const reservation = await db().selectFrom("reservations").select("status").where("order_id", "=", orderId).executeTakeFirstOrThrow();
      expect(reservation.status).toBe("rejected");
    });

    it("a release that overtakes its OrderPlaced keeps the order from holding stock", async () => {
      const a = await addProduct(5);
      const [cancelled, failed] = [newOrderId("cancelled-early"), newOrderId("failed-early")];
      await deliver(orderCancelled(cancelled, "order_cancelled"), paymentFailed(failed));
      await deliver(orderPlaced(cancelled, [{ productId: a, quantity: 1 }]), orderPlaced(failed, [{ productId: a, quantity: 2 }]));
      expect(await stock(a)).toBe(5);
      expect([...eventsFor(cancelled), ...eventsFor(failed)]).toEqual([]);
    });

    it("20 concurrent OrderPlaced of 1 unit for the last 5 units reserve exactly 5, never going below zero", async () => {
      const a = await addProduct(5);
      const levels: number[] = [];
      const unsubscribe = service.catalog.feed.subscribe(a, (l) => levels.push(l.available));
      const ids = Array.from({ length: 20 }, (_, i) => newOrderId(`rush-${i}`));
      await deliver(...ids.map((id) => orderPlaced(id, [{ productId: a, quantity: 1 }])));
      unsubscribe();

      const types = ids.map((id) => eventsFor(id).map((e) => e.type));
      expect(types.every((ts) => ts.length === 1)).toBe(true);
      expect(types.filter(([type]) => type === StockReservedSchema.typeName)).toHaveLength(5);
      expect(types.filter(([type]) => type === StockRejectedSchema.typeName)).toHaveLength(15);
      expect(await stock(a)).toBe(0);
      expect(levels).toHaveLength(5);
      expect(Math.min(...levels)).toBe(0);
      const row = await db().selectFrom("stock").select(["on_hand", "reserved"]).where("product_id", "=", a).executeTakeFirstOrThrow();
      expect(row).toEqual({ on_hand: 5, reserved: 5 });
    });

    it("a malformed OrderPlaced is dead-lettered without holding stock", async () => {
      const a = await addProduct(5);
      const orderId = newOrderId("malformed");
      const event = orderPlaced(orderId, [{ productId: a, quantity: 0 }]);
      await deliver(event);
      expect(await stock(a)).toBe(5);
      expect(eventsFor(orderId)).toEqual([]);
      const dead = await db()
        .selectFrom("dead_letters")
        .select(["type", "error"])
        .where("event_id", "=", event.id)
        .executeTakeFirstOrThrow();
      expect(dead.type).toBe(OrderPlacedSchema.typeName);
    });

    it("WatchStock sees a consumed reservation only once its transaction has committed", async () => {
      const a = await addProduct(7);
      const orderId = newOrderId("watched");
      const watched: number[] = [];
      let stopWatching!: () => void;
      const stopped = new Promise<void>((resolve) => {
        stopWatching = resolve;
      });
      async function* requests() {
        yield { addProductIds: [a] };
        await stopped;
      }
      const abort = new AbortController();
      const watching = (async () => {
        try {
          for await (const res of client.watchStock(requests(), { signal: abort.signal })) watched.push(res.level?.available ?? -1);
        } catch {
          // Ended by the abort below.
        }
      })();
      await waitUntil(() => watched.length === 1, { timeoutMs: 5_000, intervalMs: 20 });
      expect(watched).toEqual([7]);

      const event = orderPlaced(orderId, [{ productId: a, quantity: 3 }]);
      await holdingCommits(async (blocked) => {
        // The publish resolves once handled, which the held commit does not let happen yet.
        void bus.publish([event]);
        // The consumer has made its change and written its outbox row, and waits at COMMIT.
        await blocked();
        await new Promise((r) => setTimeout(r, 100));
        expect(watched).toEqual([7]);
        const row = await db().selectFrom("stock").select("reserved").where("product_id", "=", a).executeTakeFirstOrThrow();
        expect(row.reserved).toBe(0);
      });

      await waitUntil(() => watched.length === 2, { timeoutMs: 5_000, intervalMs: 20 });
      // By the time the level is seen, the stock change and the inbox record are committed.
      const [row, inbox] = await Promise.all([
        db().selectFrom("stock").select("reserved").where("product_id", "=", a).executeTakeFirstOrThrow(),
        db().selectFrom("inbox").select("event_id").where("event_id", "=", event.id).execute(),
      ]);
      expect(watched).toEqual([7, 4]);
      expect(row.reserved).toBe(3);
      expect(inbox).toHaveLength(1);
      stopWatching();
      abort.abort();
      await watching;
      await settled();
      expect(eventsFor(orderId).map((e) => e.type)).toEqual([StockReservedSchema.typeName]);
    });
  });
});
