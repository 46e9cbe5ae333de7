import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { closeClient, ConfigError, createEnvelope, createLogger, createThreadBusHub, type ThreadBusHub } from "@shopmesh/platform";
import { createTestClient, postgresTestUrl, testTlsEnv } from "@shopmesh/platform/testing";
import { StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { databaseUrl, dropServiceDatabases, ensureDatabases } from "./service-databases.js";
import { liveServiceWorkers, type ServiceWorker, startServiceWorker, startWorkerHost, type WorkerExit } from "./service-worker.js";

const logger = createLogger({ level: "silent" });

describe("a service in a worker thread", () => {
  const POSTGRES_URL = postgresTestUrl();
  const prefix = `shopmesh_w${randomBytes(4).toString("hex")}`;
  const catalogEnv = () => ({
    DATABASE_URL: databaseUrl(POSTGRES_URL, `${prefix}_catalog`),
    CATALOG_HOST: "127.0.0.1",
    AUTH_ADDR: "127.0.0.1:1",
    CATALOG_PORT: "0",
    LOG_LEVEL: "warn",
    ...testTlsEnv(),
  });
  let hub: ThreadBusHub;
  let worker: ServiceWorker | undefined;

  beforeAll(() => ensureDatabases(POSTGRES_URL, [`${prefix}_catalog`]));
  afterEach(async () => {
    await worker?.stop().catch(() => undefined);
    worker = undefined;
    await hub.close();
    expect(liveServiceWorkers()).toBe(0);
  });
  afterAll(() => dropServiceDatabases(POSTGRES_URL, prefix));

  test("catalog starts in a worker on its own database, answers over real gRPC, handles an event from the hub, and stops", async () => {
    hub = createThreadBusHub({ logger });
    const reserved: string[] = [];
    hub.subscribe("test", [StockReservedSchema.typeName], async (e) => void reserved.push(e.key));
    worker = await startServiceWorker({ name: "catalog", env: catalogEnv(), hub });
    expect(worker.address).toBe(`127.0.0.1:${worker.port}`);
    expect(liveServiceWorkers()).toBe(1);

    const catalog = createTestClient(CatalogService, worker.address);
    try {
      const { items: products } = await catalog.listProducts({ pageSize: 3 });
      expect(products.length).toBeGreaterThan(0);
      const product = products.find((p) => p.stock > 0)!;

      // OrderPlaced published on the main thread is handled by the catalog's consumer in its thread
      // before the publish resolves: the stock is reserved by then.
      const orderId = `o-worker-${randomBytes(4).toString("hex")}`;
      const placed = create(OrderPlacedSchema, {
        orderId,
        userId: "u-1",
        items: [
          {
            productId: product.id,
            name: product.name,
            unitPriceCents: product.priceCents,
            quantity: 1,
            lineTotalCents: product.priceCents,
          },
        ],
        totalCents: product.priceCents,
        currency: product.currency,
      });
      await hub.publish([createEnvelope(OrderPlacedSchema, placed, { source: "order", key: orderId })]);
      const after = await catalog.getProduct({ id: product.id });
      expect(after.product?.stock).toBe(product.stock - 1);
      // The catalog's outbox relay, in the worker, publishes StockReserved back through the hub.
      await expect.poll(() => reserved, { timeout: 5_000 }).toEqual([orderId]);
    } finally {
      closeClient(catalog);
    }

    await worker.stop();
    worker = undefined;
    expect(liveServiceWorkers()).toBe(0);
  });

  test("a worker whose start fails rejects with the error and leaves no thread running", async () => {
    hub = createThreadBusHub({ logger });
    const bad = startServiceWorker({ name: "catalog", env: { ...catalogEnv(), CATALOG_CACHE_SIZE: "-1" }, hub });
    await expect(bad).rejects.toBeInstanceOf(ConfigError);
    await expect(bad).rejects.toThrow(/CATALOG_CACHE_SIZE/);
    expect(liveServiceWorkers()).toBe(0);

    // Past the config: its database does not exist (SQLSTATE 3D000, invalid_catalog_name).
    const missing = startServiceWorker({
      name: "catalog",
      env: { ...catalogEnv(), DATABASE_URL: databaseUrl(POSTGRES_URL, `${prefix}_missing`) },
      hub,
    });
    await expect(missing).rejects.toMatchObject({ code: "3D000" });
    expect(liveServiceWorkers()).toBe(0);
  });

  test("one thread runs several services started one by one, and reports their metrics and readiness", async () => {
    hub = createThreadBusHub({ logger });
    await ensureDatabases(POSTGRES_URL, [`${prefix}_cart`]);
    const host = startWorkerHost({ hub });
    try {
      const catalog = await host.start("catalog", catalogEnv());
      const cart = await host.start("cart", {
        DATABASE_URL: databaseUrl(POSTGRES_URL, `${prefix}_cart`),
        CART_HOST: "127.0.0.1",
        CART_PORT: "0",
        CATALOG_ADDR: catalog.address,
        AUTH_ADDR: "127.0.0.1:1",
        LOG_LEVEL: "warn",
        ...testTlsEnv(),
      });
      expect(host.units.map((u) => u.name)).toEqual(["catalog", "cart"]);
      expect(liveServiceWorkers()).toBe(1);
      const client = createTestClient(CatalogService, catalog.address);
      try {
        await client.listProducts({ pageSize: 1 });
      } finally {
        closeClient(client);
      }
      // The thread's series, for the process's admin server: the catalog's served call among them.
      const metrics = await host.metrics();
      const served = metrics.find((m) => m.name === "shopmesh_rpc_server_duration_seconds");
      expect(served?.values.some((v) => v.labels.service === "catalog" && String(v.labels.method).includes("ListProducts"))).toBe(true);
      await vi.waitFor(() => expect(Object.keys(host.readiness()).length).toBeGreaterThan(0));
      expect(cart.address).toBe(`127.0.0.1:${cart.port}`);
    } finally {
      await host.stop();
    }
    expect(liveServiceWorkers()).toBe(0);
  });

  test("a worker that ends on its own is reported, and its subscriptions leave the hub", async () => {
    hub = createThreadBusHub({ logger, retry: { initialMs: 5, maxMs: 5 } });
    const exits: WorkerExit[] = [];
    worker = await startServiceWorker({ name: "catalog", env: catalogEnv(), hub, onUnexpectedExit: (exit) => exits.push(exit) });
    await worker.crash();
    expect(exits).toEqual([expect.objectContaining({ names: ["catalog"], threadId: worker.threadId })]);
    expect(liveServiceWorkers()).toBe(0);
    // Nobody consumes OrderPlaced any more: the publish has no group to wait for.
    const orderId = "o-after-crash";
    const placed = create(OrderPlacedSchema, { orderId, userId: "u-1", items: [], totalCents: 0, currency: "EUR" });
    await hub.publish([createEnvelope(OrderPlacedSchema, placed, { source: "order", key: orderId })]);
    worker = undefined;
  });
});
