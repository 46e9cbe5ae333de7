import { type Client, Code, closeClient, createClient, createLogger } from "@shopmesh/platform";
import {
  codeOf,
  createTestTokenIssuer,
  databaseBackend,
  useFaultyDatabase,
  useTestDatabase,
  whileLocked,
} from "@shopmesh/platform/testing";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCatalogConfig } from "./config.js";
import { type CatalogServer, createCatalogServer } from "./index.js";

/** Catalog's answers over gRPC when its database fails under it (see useFaultyDatabase). */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const issuer = await createTestTokenIssuer();

describe("catalog service over a failing database", () => {
  const t = useTestDatabase(databaseBackend);
  const faulty = useFaultyDatabase();
  let service: CatalogServer;
  let client: Client<typeof CatalogService>;

  beforeAll(async () => {
    service = createCatalogServer({
      config: readCatalogConfig({ DB_SCHEMA: t.schema }),
      db: faulty.db,
      verifier: issuer.verifier,
      logger,
      host: "127.0.0.1",
      port: 0,
    });
    await service.start();
    client = createClient(CatalogService, `127.0.0.1:${service.port}`);
  });

  afterAll(async () => {
    if (client) closeClient(client);
    await service?.stop();
  });

  it("answers ABORTED when its query loses a lock conflict", async () => {
    expect(await whileLocked(t.kysely(), "products", () => codeOf(client.getProduct({ id: "locked-product" })))).toBe(Code.Aborted);
  });

  it("answers UNAVAILABLE when the database cannot be reached", async () => {
    await faulty.goDown();
    expect(await codeOf(client.getProduct({ id: "unreachable-product" }))).toBe(Code.Unavailable);
  });
});
