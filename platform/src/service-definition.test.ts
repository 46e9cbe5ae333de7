import { create } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { CatalogService, ProductSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterEach, expect, test } from "vitest";
import type { TokenVerifier } from "./auth/token-verifier.js";
import { ConfigError } from "./config.js";
import { createEnvelope, type Envelope } from "./events/envelope.js";
import type { EventBus } from "./events/event-bus.js";
import { outboxMigrations, writeOutbox } from "./events/outbox.js";
import { closeClient, createClient } from "./grpc/client.js";
import { createGrpcServer } from "./grpc/server.js";
import { serviceRegistration } from "./grpc/service.js";
import { createLogger } from "./logger.js";
import { defineService, type ServiceConfig, type ServiceContext } from "./service-definition.js";
import { catalogHandlers } from "./testing/catalog-handlers.js";
import { forEachBackend, useTestDatabase } from "./testing/index.js";

const logger = createLogger({ level: "silent" });
const verifier = { verify: async () => ({ userId: "u-1" }) } as unknown as TokenVerifier;
const product = (id: string) => create(ProductSchema, { id, name: `Product ${id}` });

interface TestConfig extends ServiceConfig {
  readonly TEST_PORT: number;
  readonly AUTH_ADDR: string | undefined;
  readonly PEER_ADDR: string;
}

/** A service answering GetProduct itself, asking its peer for BatchGetProducts, and publishing an event per `write`. */
const createTestServer = defineService({
  name: "test",
  migrations: outboxMigrations,
  outbox: true,
  listen: (config: TestConfig) => ({ host: "127.0.0.1", port: config.TEST_PORT }),
  create({ config, db, notifyOutbox, client, authVerifier }: ServiceContext<TestConfig, any>) {
    const peer = client(CatalogService, config.PEER_ADDR);
    const auth = { AUTH_ADDR: config.AUTH_ADDR, AUTH_ISSUER: "shopmesh", AUTH_AUDIENCE: "shopmesh" };
    return {
      expose: {
        async write(value: string) {
          const event = createEnvelope(StringValueSchema, create(StringValueSchema, { value }), { source: "test", key: value });
          notifyOutbox(await db.transaction().execute((trx) => writeOutbox(trx, event)));
          return event;
        },
        peer,
      },
      rpc: serviceRegistration(
        CatalogService,
        catalogHandlers({
          getProduct: async (req) => ({ product: product(req.id) }),
          batchGetProducts: (req) => peer.batchGetProducts(req),
        }),
      ),
      verifier: authVerifier(auth),
    };
  },
});

forEachBackend((backend) => {
  const t = useTestDatabase(backend);
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  test("a defined service serves its handlers, hands its use cases the outbox notifier and closes its clients on stop", async () => {
    const peerServer = createGrpcServer({
      name: "peer",
      host: "127.0.0.1",
      port: 0,
      logger,
      services: [
        serviceRegistration(CatalogService, catalogHandlers({ batchGetProducts: async (req) => ({ products: req.ids.map(product) }) })),
      ],
    });
    const peerPort = await peerServer.start();
    cleanups.push(() => peerServer.stop());
    const published: Envelope[] = [];
    const bus: EventBus = {
      async publish(events) {
        published.push(...events);
      },
      subscribe: () => ({ unsubscribe: async () => {} }),
      close: async () => {},
    };
    const schema = await t.createSchema();
    const config: TestConfig = {
      DB_SCHEMA: schema,
      SHUTDOWN_GRACE_MS: 100,
      FAULTS_ENABLED: false,
      FAULTS_EVENTS: undefined,
      TEST_PORT: 0,
      AUTH_ADDR: undefined,
      PEER_ADDR: `127.0.0.1:${peerPort}`,
    };
    const server = createTestServer({ config, db: t.db, logger, bus, verifier });
    const port = await server.start();
    expect(server.port).toBe(port);

    const client = createClient(CatalogService, `127.0.0.1:${port}`, { logger, maxAttempts: 1 });
    cleanups.push(async () => closeClient(client));
    expect((await client.getProduct({ id: "p-1" })).product?.name).toBe("Product p-1");
    expect((await client.batchGetProducts({ ids: ["p-2"] })).products.map((p) => p.id)).toEqual(["p-2"]);

    // The relay publishes once the use case tells it, without waiting for its poll.
    const event = await server.write("x");
    await expect.poll(() => published.map((e) => e.id), { timeout: 400 }).toEqual([event.id]);

    await server.stop();
    // The peer client the service opened is closed.
    await expect(server.peer.batchGetProducts({ ids: ["p-3"] })).rejects.toThrow();
  });

  test("a service that cannot be assembled throws, naming what is missing", async () => {
    const config: TestConfig = {
      DB_SCHEMA: await t.createSchema(),
      SHUTDOWN_GRACE_MS: 100,
      FAULTS_ENABLED: false,
      FAULTS_EVENTS: undefined,
      TEST_PORT: 0,
      AUTH_ADDR: undefined,
      PEER_ADDR: "127.0.0.1:1",
    };
    expect(() => createTestServer({ config, db: t.db, logger })).toThrow(ConfigError);
    expect(() => createTestServer({ config, db: t.db, logger })).toThrow(/AUTH_ADDR/);
  });
});
