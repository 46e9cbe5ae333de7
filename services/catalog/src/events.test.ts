import { closeClient, type createClient, createEventRegistry, createInProcessBus, createLogger, type Envelope } from "@shopmesh/platform";
import {
  createTestClient,
  createTestTokenIssuer,
  forEachBackend,
  pollUntil,
  type TestDatabase,
  useTestDatabase,
  testTlsEnv,
} from "@shopmesh/platform/testing";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import {
  ProductPriceChangedSchema,
  StockRejectedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCatalogConfig } from "./config.js";
import { type CatalogServer, createCatalogServer } from "./index.js";

/** Signs the tokens the catalog verifies (operators' calls). */
const issuer = await createTestTokenIssuer();

/**
 * The catalog's events, observed as a consumer would: reservations made over gRPC come out of
 * the outbox onto the bus, keyed by order id, decodable as the type they name, once each.
 */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const registry = createEventRegistry([StockReservedSchema, StockRejectedSchema, StockReleasedSchema, ProductPriceChangedSchema]);

forEachBackend((backend) => {
  describe(`catalog events (${backend.name})`, () => {
    const t: TestDatabase = useTestDatabase(backend);
    const bus = createInProcessBus({ logger });
    const received: Envelope[] = [];
    let service: CatalogServer;
    let client: ReturnType<typeof createClient<typeof CatalogService>>;

    beforeAll(async () => {
      const types = [StockReservedSchema, StockRejectedSchema, StockReleasedSchema, ProductPriceChangedSchema].map((t) => t.typeName);
      bus.subscribe("test", types, async (e) => {
        received.push(e);
      });
      service = createCatalogServer({
        config: readCatalogConfig({ ...testTlsEnv(), DB_SCHEMA: t.schema }),
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
      closeClient(client);
      await service.stop();
      await bus.close();
    });

    const eventsFor = async (orderId: string, count: number) => {
      await pollUntil(() => received.filter((e) => e.key === orderId).length >= count, { timeoutMs: 2_000, intervalMs: 20 });
      await bus.drain();
      return received.filter((e) => e.key === orderId);
    };

    it("publishes StockReserved once per order, also when the reservation is asked again", async () => {
      const items = [{ productId: "p-espresso-cup", quantity: 2 }];
      await client.reserveStock({ orderId: "order-ok", items });
      await client.reserveStock({ orderId: "order-ok", items });
      const events = await eventsFor("order-ok", 1);
      expect(events).toHaveLength(1);
      const event = registry.decodeAs(StockReservedSchema, events[0]!);
      expect(event.orderId).toBe("order-ok");
      expect(event.items.map((i) => [i.productId, i.quantity])).toEqual([["p-espresso-cup", 2]]);
      expect(events[0]!.source).toBe("catalog");
    });

    it("publishes StockRejected with the shortages when stock is short", async () => {
      await client.reserveStock({ orderId: "order-short", items: [{ productId: "p-espresso-cup", quantity: 999 }] });
      const [event] = await eventsFor("order-short", 1);
      const rejected = registry.decodeAs(StockRejectedSchema, event!);
      expect(rejected.reason).toBe("out_of_stock");
      expect(rejected.shortages[0]?.productId).toBe("p-espresso-cup");
    });

    it("publishes StockReleased after a release, and nothing for a second release", async () => {
      await client.reserveStock({ orderId: "order-release", items: [{ productId: "p-moka-pot", quantity: 1 }] });
      await client.releaseStock({ orderId: "order-release", reason: "payment_declined" });
      await client.releaseStock({ orderId: "order-release", reason: "payment_declined" });
      const events = await eventsFor("order-release", 2);
      expect(events.map((e) => e.type)).toEqual([StockReservedSchema.typeName, StockReleasedSchema.typeName]);
      expect(registry.decodeAs(StockReleasedSchema, events[1]!).reason).toBe("payment_declined");
    });

    it("publishes ProductPriceChanged, keyed by product id, for an update that changes the price, and nothing for one that does not", async () => {
      const id = "p-price-event";
      const fields = { name: "Priced", description: "", currency: "EUR", categories: [], imageUrls: [] };
      await client.createProduct({ id, ...fields, priceCents: 1000, initialStock: 1 });
      await client.updateProduct({ id, expectedVersion: 1n, ...fields, name: "Renamed", priceCents: 1000 });
      await client.updateProduct({ id, expectedVersion: 2n, ...fields, priceCents: 1200 });
      const [event, ...more] = await eventsFor(id, 1);
      expect(more).toEqual([]);
      expect(event!.type).toBe(ProductPriceChangedSchema.typeName);
      expect(registry.decodeAs(ProductPriceChangedSchema, event!)).toMatchObject({
        productId: id,
        oldPriceCents: 1000,
        oldCurrency: "EUR",
        newPriceCents: 1200,
        currency: "EUR",
        version: 3n,
      });
    });
  });
});
