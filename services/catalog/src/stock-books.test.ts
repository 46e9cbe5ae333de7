import { Code, ConnectError } from "@connectrpc/connect";
import { closeClient, type createClient, createLogger } from "@shopmesh/platform";
import {
  createTestClient,
  createTestTokenIssuer,
  databaseBackend,
  type TestDatabase,
  testTlsEnv,
  violatedFieldsOf,
} from "@shopmesh/platform/testing";
import { CatalogService, ReservationStatus } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCatalogConfig } from "./config.js";
import { type CatalogServer, createCatalogServer } from "./index.js";

/** Signs the tokens the catalog verifies (operators' calls). */
const issuer = await createTestTokenIssuer();

const logger = createLogger({ level: "silent" });

describe("the catalog's stock books over gRPC (ListStockBooks, ListReservations, ListStockAdjustments)", () => {
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

  it("lists a product's stock adjustments newest first, in pages; none for an unknown product", async () => {
    const [book] = await allStockBooks();
    if (!book) throw new Error("the demo catalog is empty");
    const productId = book.productId;
    for (const [delta, reason] of [
      [3, "received"],
      [-1, "damaged"],
      [2, "recount"],
    ] as const) {
      await client.adjustStock({ productId, delta, reason });
    }

    const first = await client.listStockAdjustments({ productId, pageSize: 2 });
    expect(first.items.map((a) => [a.delta, a.reason])).toEqual([
      [2, "recount"],
      [-1, "damaged"],
    ]);
    expect(first.items[0]).toMatchObject({ productId, onHandAfter: book.onHand + 4 });
    expect(first.items[0]?.createdAt).toBeDefined();
    const all = [...first.items];
    let pageToken = first.nextPageToken;
    while (pageToken !== "") {
      const page = await client.listStockAdjustments({ productId, pageSize: 2, pageToken });
      all.push(...page.items);
      pageToken = page.nextPageToken;
    }
    // Then the earlier ones, the seed's last: every adjustment once, ids descending.
    expect(all.map((a) => a.reason).slice(0, 3)).toEqual(["recount", "damaged", "received"]);
    expect(new Set(all.map((a) => a.id)).size).toBe(all.length);
    expect(all.map((a) => BigInt(a.id))).toEqual([...all.map((a) => BigInt(a.id))].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0)));
    expect(all.reduce((sum, a) => sum + a.delta, 0)).toBe(book.adjusted + 4);

    expect((await client.listStockAdjustments({ productId: "p-no-such-product" })).items).toEqual([]);
    expect(await violatedFieldsOf(client.listStockAdjustments({ productId: "", pageSize: 101, pageToken: "???" }))).toEqual([
      "product_id",
      "page_size",
      "page_token",
    ]);
  });
});
