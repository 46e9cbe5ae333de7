import { type Client, Code, closeClient, createClient, createInProcessBus, createLogger, uuidv7 } from "@shopmesh/platform";
import {
  codeOf,
  createTestTokenIssuer,
  databaseBackend,
  useFaultyDatabase,
  useTestDatabase,
  whileLocked,
} from "@shopmesh/platform/testing";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOrderConfig } from "./config.js";
import { createOrderServer, type OrderServer } from "./index.js";

/** Order's answers over gRPC when its database fails under it (see useFaultyDatabase). */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const issuer = await createTestTokenIssuer();
// Peers are never called: GetOrder reads the order's own database.
const nowhere = "127.0.0.1:1";

describe("order service over a failing database", () => {
  const t = useTestDatabase(databaseBackend);
  const faulty = useFaultyDatabase();
  const bus = createInProcessBus({ logger });
  let service: OrderServer;
  let client: Client<typeof OrderService>;

  beforeAll(async () => {
    service = createOrderServer({
      config: readOrderConfig({ DB_SCHEMA: t.schema, CART_ADDR: nowhere, CATALOG_ADDR: nowhere, PAYMENT_ADDR: nowhere }),
      db: faulty.db,
      logger,
      host: "127.0.0.1",
      port: 0,
      bus,
      verifier: issuer.verifier,
    });
    await service.start();
    client = createClient(OrderService, `127.0.0.1:${service.port}`);
  });

  afterAll(async () => {
    if (client) closeClient(client);
    await service?.stop();
    await bus.close();
  });

  const getOrder = async () => client.getOrder({ id: uuidv7() }, await issuer.as(uuidv7()));

  it("answers ABORTED when its query loses a lock conflict", async () => {
    expect(await whileLocked(t.kysely(), "orders", async () => codeOf(getOrder()))).toBe(Code.Aborted);
  });

  it("answers UNAVAILABLE when the database cannot be reached", async () => {
    await faulty.goDown();
    expect(await codeOf(getOrder())).toBe(Code.Unavailable);
  });
});
