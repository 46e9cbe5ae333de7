import { type Client, Code, closeClient, createClient, createInProcessBus, createLogger, uuidv7 } from "@shopmesh/platform";
import {
  codeOf,
  createTestTokenIssuer,
  databaseBackend,
  useFaultyDatabase,
  useTestDatabase,
  whileLocked,
} from "@shopmesh/platform/testing";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCartConfig } from "./config.js";
import { type CartServer, createCartServer } from "./index.js";

/** Cart's answers over gRPC when its database fails under it (see useFaultyDatabase). */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const issuer = await createTestTokenIssuer();

describe("cart service over a failing database", () => {
  const t = useTestDatabase(databaseBackend);
  const faulty = useFaultyDatabase();
  const bus = createInProcessBus({ logger });
  let service: CartServer;
  let client: Client<typeof CartService>;

  beforeAll(async () => {
    service = createCartServer({
      config: readCartConfig({ DB_SCHEMA: t.schema, CATALOG_ADDR: "127.0.0.1:1" }),
      db: faulty.db,
      logger,
      host: "127.0.0.1",
      port: 0,
      bus,
      verifier: issuer.verifier,
    });
    await service.start();
    client = createClient(CartService, `127.0.0.1:${service.port}`);
  });

  afterAll(async () => {
    if (client) closeClient(client);
    await service?.stop();
    await bus.close();
  });

  it("answers ABORTED when its query loses a lock conflict", async () => {
    const opts = await issuer.as(uuidv7());
    expect(await whileLocked(t.kysely(), "carts", () => codeOf(client.getCart({}, opts)))).toBe(Code.Aborted);
  });

  it("answers UNAVAILABLE when the database cannot be reached", async () => {
    const opts = await issuer.as(uuidv7());
    await faulty.goDown();
    expect(await codeOf(client.getCart({}, opts))).toBe(Code.Unavailable);
  });
});
