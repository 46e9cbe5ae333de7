import { Code, ConnectError } from "@connectrpc/connect";
import { closeClient, type createClient, createLogger } from "@shopmesh/platform";
import { createTestClient, createTestTokenIssuer, databaseBackend, type TestDatabase, testTlsEnv } from "@shopmesh/platform/testing";
import { CatalogService, ReservationStatus } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCatalogConfig } from "./config.js";
import { type CatalogServer, createCatalogServer } from "./index.js";

/** Signs the tokens the catalog verifies (operators' calls). */
const issuer = await createTestTokenIssuer();

const logger = createLogger({ level: "silent" });

describe("the catalog's stock books over gRPC (ListStockBooks, ListReservations)", () => {
  let t: TestDatabase;
  let service: CatalogServer;
  let client: ReturnType<typeof createClient<typeof CatalogService>>;

  beforeAll(async () => {
    t = await databaseBackend.open();
    service = createCatalogServer({
      config: readCatalogConfig({ ...testTlsEnv(), DB_SCHEMA: t.schema }),
      verifier: issuer.verifier,
      db: t.db,
      logger,
      host: "127.0.0.1",
      port: 0,
    });
    await service.start();
    client = createTestClient(CatalogService, `127.0.0.1:${service.port}`, { logger });
  });

  afterAll(async () => {
    if (client) closeClient(client);
    await service?.stop();
    await t?.cleanup();
  });

  async function allStockBooks() {
    const out = [];
    let pageToken = "";
    do {
      const page = await client.listStockBooks({ pageSize: 7, pageToken });
      out.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return out;
  }

  it("counts units received, held and recounted from the reservations, and lists reservations in pages", async () => {
    const before = await allStockBooks();
    expect(before.length).toBeGreaterThan(7);
    const [a, b] = before;
    if (!a || !b) throw new Error("the demo catalog is empty");
    // Seeded stock is an adjustment too: received = on hand.
    for (const book of before) expect(book.adjusted).toBe(book.onHand);

    await client.adjustStock({ productId: a.productId, delta: 5, reason: "received" });
    await client.reserveStock({ orderId: "o-books-1", items: [{ productId: a.productId, quantity: 2 }] });
    await client.reserveStock({
      orderId: "o-books-2",
      items: [
        { productId: a.productId, quantity: 1 },
        { productId: b.productId, quantity: 3 },
      ],
    });
    await client.releaseStock({ orderId: "o-books-2", reason: "payment_failed" });

    const after = new Map((await allStockBooks()).map((x) => [x.productId, x]));
    expect(after.get(a.productId)).toMatchObject({
      onHand: a.onHand + 5,
      adjusted: a.adjusted + 5,
      reserved: a.reserved + 2,
      reservedByReservations: a.reservedByReservations + 2,
    });
    expect(after.get(b.productId)).toMatchObject({ reserved: b.reserved, reservedByReservations: b.reservedByReservations });

    const first = await client.listReservations({ pageSize: 1 });
    expect(first.items).toHaveLength(1);
    const second = await client.listReservations({ pageSize: 100, pageToken: first.nextPageToken });
    const byOrder = new Map([...first.items, ...second.items].map((r) => [r.orderId, r]));
    expect(byOrder.get("o-books-1")).toMatchObject({
      status: ReservationStatus.RESERVED,
      items: [{ productId: a.productId, quantity: 2 }],
    });
    expect(byOrder.get("o-books-2")).toMatchObject({ status: ReservationStatus.RELEASED, reason: "payment_failed" });
    expect(byOrder.get("o-books-2")?.items).toHaveLength(2);
  });

  it("refuses a bad page size or token with INVALID_ARGUMENT", async () => {
    for (const call of [client.listStockBooks({ pageSize: 501 }), client.listReservations({ pageToken: "???" })]) {
      const err = await call.then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.InvalidArgument);
    }
  });
});
