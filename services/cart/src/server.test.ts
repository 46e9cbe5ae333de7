import { create } from "@bufbuild/protobuf";
import {
  type Client,
  Code,
  ConnectError,
  closeClient,
  createEnvelope,
  createGrpcServer,
  createInProcessBus,
  createLogger,
  type GrpcServer,
  notFound,
  serviceRegistration,
  uuidv7,
} from "@shopmesh/platform";
import {
  createTestClient,
  createTestTokenIssuer,
  forEachBackend,
  type TestDatabase,
  useTestDatabase,
  violatedFieldsOf,
  testTlsEnv,
  testMeshTls,
} from "@shopmesh/platform/testing";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService, type Product, ProductSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { ProductPriceChangedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCartConfig } from "./config.js";
import { type CartServer, createCartServer } from "./index.js";

/**
 * Cart through its public contract: a real server on port 0 over each database backend, called
 * over gRPC; products come from a real gRPC CatalogService with fixed products (the catalog's
 * contract); tokens are real ES256 JWTs checked by the platform verifier over a static JWKS.
 */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

const products: Product[] = [
  create(ProductSchema, { id: "mug", name: "Mug", priceCents: 1250, currency: "EUR", stock: 10 }),
  create(ProductSchema, { id: "tee", name: "T-shirt", priceCents: 1999, currency: "EUR", stock: 10 }),
  create(ProductSchema, { id: "cap", name: "Cap", priceCents: 900, currency: "EUR", stock: 10 }),
];
const byId = new Map(products.map((p) => [p.id, p]));
// Archived by the catalog: still found by id, no longer sold.
byId.set("retired", create(ProductSchema, { id: "retired", name: "Retired", priceCents: 500, currency: "EUR", stock: 3, archived: true }));
let batchCalls = 0;

const unimplemented = (): never => {
  throw new ConnectError("not served by this test catalog", Code.Unimplemented);
};

function startCatalog(): GrpcServer {
  return createGrpcServer({
    name: "test-catalog",
    host: "127.0.0.1",
    port: 0,
    logger,
    // The cart calls it over mutual TLS, as it would the real catalog.
    tls: testMeshTls("catalog"),
    services: [
      serviceRegistration(CatalogService, {
        listProducts: async () => ({ items: products }),
        getProduct: async (req) => {
          const product = byId.get(req.id);
          if (!product) throw notFound("product");
          return { product };
        },
        batchGetProducts: async (req) => {
          batchCalls++;
          return {
            products: req.ids.flatMap((id) => byId.get(id) ?? []),
            missingIds: req.ids.filter((id) => !byId.has(id)),
          };
        },
        watchStock: unimplemented,
        streamStock: unimplemented,
        listStockAdjustments: unimplemented,
        reserveStock: unimplemented,
        releaseStock: unimplemented,
        adjustStock: unimplemented,
        listStockBooks: unimplemented,
        listReservations: unimplemented,
        createProduct: unimplemented,
        updateProduct: unimplemented,
        archiveProduct: unimplemented,
        listPriceChanges: unimplemented,
      }),
    ],
  });
}

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

const issuer = await createTestTokenIssuer();
const tokenFor = (userId: string) => issuer.token(userId);
const as = (userId: string) => issuer.as(userId);

const orderPlaced = (userId: string, items: { productId: string; quantity: number }[]) => {
  const orderId = uuidv7();
  return createEnvelope(OrderPlacedSchema, create(OrderPlacedSchema, { orderId, userId, items, currency: "EUR" }), {
    source: "order",
    key: orderId,
  });
};

const priceChanged = (productId: string, oldPriceCents: number, newPriceCents: number, version: bigint) =>
  createEnvelope(
    ProductPriceChangedSchema,
    create(ProductPriceChangedSchema, { productId, oldPriceCents, newPriceCents, currency: "EUR", oldCurrency: "EUR", version }),
    { source: "catalog", key: productId },
  );

const lines = (cart: { items: { productId: string; quantity: number }[] } | undefined) =>
  (cart?.items ?? []).map((i) => [i.productId, i.quantity]);

forEachBackend((backend) => {
  describe(`cart service (${backend.name})`, () => {
    const t: TestDatabase = useTestDatabase(backend);
    const bus = createInProcessBus({ logger, retry: { initialMs: 2, maxMs: 20 } });
    const { verifier } = issuer;
    let catalog: GrpcServer;
    let service: CartServer;
    let client: Client<typeof CartService>;

    beforeAll(async () => {
      catalog = startCatalog();
      const catalogPort = await catalog.start();
      service = createCartServer({
        config: readCartConfig({ ...testTlsEnv(), DB_SCHEMA: t.schema, CATALOG_ADDR: `127.0.0.1:${catalogPort}` }),
        db: t.db,
        logger,
        host: "127.0.0.1",
        port: 0,
        bus,
        verifier,
      });
      await service.start();
      client = createTestClient(CartService, `127.0.0.1:${service.port}`);
    });

    afterAll(async () => {
      if (client) closeClient(client);
      await service?.stop();
      await bus.close();
      await catalog?.stop();
    });

    it("a new user's cart is empty, not NOT_FOUND", async () => {
      const userId = uuidv7();
      const { cart } = await client.getCart({}, await as(userId));
      expect(cart).toMatchObject({ userId, items: [], totalCents: 0, currency: "" });
      expect(cart?.updatedAt).toBeUndefined();
    });

    it("adds, adds to an existing line, updates, removes and clears, priced at the catalog's prices", async () => {
      const userId = uuidv7();
      const opts = await as(userId);
      let { cart } = await client.addItem({ productId: "mug", qty: 2 }, opts);
      expect(cart?.items).toEqual([
        expect.objectContaining({ productId: "mug", name: "Mug", unitPriceCents: 1250, quantity: 2, lineTotalCents: 2500 }),
      ]);
      expect(cart).toMatchObject({ userId, totalCents: 2500, currency: "EUR" });
      expect(cart?.updatedAt).toBeDefined();

      ({ cart } = await client.addItem({ productId: "tee", qty: 1 }, opts));
      ({ cart } = await client.addItem({ productId: "mug", qty: 3 }, opts));
      expect(lines(cart)).toEqual([
        ["mug", 5],
        ["tee", 1],
      ]);
      expect(cart?.totalCents).toBe(5 * 1250 + 1999);

      const before = batchCalls;
      ({ cart } = await client.getCart({}, opts));
      expect(batchCalls - before).toBe(1);

      ({ cart } = await client.updateItem({ productId: "tee", qty: 4 }, opts));
      expect(lines(cart)).toEqual([
        ["mug", 5],
        ["tee", 4],
      ]);
      expect(cart?.items[1]?.lineTotalCents).toBe(4 * 1999);

      ({ cart } = await client.removeItem({ productId: "mug" }, opts));
      expect(lines(cart)).toEqual([["tee", 4]]);
      ({ cart } = await client.removeItem({ productId: "mug" }, opts));
      expect(lines(cart)).toEqual([["tee", 4]]);

      ({ cart } = await client.clearCart({}, opts));
      expect(cart).toMatchObject({ userId, items: [], totalCents: 0 });
      expect(lines((await client.getCart({}, opts)).cart)).toEqual([]);
    });

    it("refuses quantities outside 1..99 naming qty, and a line beyond 99 units", async () => {
      const opts = await as(uuidv7());
      for (const qty of [0, 100, -1]) {
        const err = await client.addItem({ productId: "mug", qty }, opts).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConnectError);
        expect((err as ConnectError).code).toBe(Code.InvalidArgument);
        expect((err as ConnectError).rawMessage).toMatch(/qty/);
      }
      await client.addItem({ productId: "mug", qty: 99 }, opts);
      expect(await codeOf(client.updateItem({ productId: "mug", qty: 0 }, opts))).toBe(Code.InvalidArgument);
      expect(await codeOf(client.updateItem({ productId: "mug", qty: 100 }, opts))).toBe(Code.InvalidArgument);
      expect(await codeOf(client.addItem({ productId: "mug", qty: 1 }, opts))).toBe(Code.FailedPrecondition);
      expect(lines((await client.getCart({}, opts)).cart)).toEqual([["mug", 99]]);
      expect(await codeOf(client.addItem({ productId: "", qty: 1 }, opts))).toBe(Code.InvalidArgument);
    });

    it("names both bad fields of AddItem and UpdateItem in one INVALID_ARGUMENT; good requests still pass", async () => {
      const opts = await as(uuidv7());
      expect(await violatedFieldsOf(client.addItem({ productId: "", qty: 0 }, opts))).toEqual(["product_id", "qty"]);
      expect(await violatedFieldsOf(client.addItem({ productId: "not an id", qty: 100 }, opts))).toEqual(["product_id", "qty"]);
      expect(await violatedFieldsOf(client.updateItem({ productId: "../mug", qty: -1 }, opts))).toEqual(["product_id", "qty"]);
      expect(await violatedFieldsOf(client.removeItem({ productId: "" }, opts))).toEqual(["product_id"]);
      expect(await violatedFieldsOf(client.getUserCart({ userId: "u".repeat(201) }))).toEqual(["user_id"]);

      await client.addItem({ productId: "mug", qty: 2 }, opts);
      const { cart } = await client.updateItem({ productId: "mug", qty: 3 }, opts);
      expect(lines(cart)).toEqual([["mug", 3]]);
    });

    it("an unknown product is NOT_FOUND; updating a product not in the cart is NOT_FOUND", async () => {
      const opts = await as(uuidv7());
      expect(await codeOf(client.addItem({ productId: "no-such-product", qty: 1 }, opts))).toBe(Code.NotFound);
      expect(await codeOf(client.updateItem({ productId: "cap", qty: 2 }, opts))).toBe(Code.NotFound);
      expect(lines((await client.getCart({}, opts)).cart)).toEqual([]);
    });

    it("a product the catalog archived is FAILED_PRECONDITION and not added", async () => {
      const opts = await as(uuidv7());
      expect(await codeOf(client.addItem({ productId: "retired", qty: 1 }, opts))).toBe(Code.FailedPrecondition);
      expect(lines((await client.getCart({}, opts)).cart)).toEqual([]);
    });

    it("every public method needs a valid token", async () => {
      expect(await codeOf(client.getCart({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.addItem({ productId: "mug", qty: 1 }))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.updateItem({ productId: "mug", qty: 1 }))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.removeItem({ productId: "mug" }))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.clearCart({}))).toBe(Code.Unauthenticated);
      const forged = `${(await tokenFor(uuidv7())).slice(0, -4)}AAAA`;
      expect(await codeOf(client.getCart({}, { metadata: { authorization: `Bearer ${forged}` } }))).toBe(Code.Unauthenticated);
    });

    it("user B can neither see nor change user A's cart", async () => {
      const a = uuidv7();
      const b = uuidv7();
      const asA = await as(a);
      const asB = await as(b);
      await client.addItem({ productId: "mug", qty: 2 }, asA);
      await client.addItem({ productId: "cap", qty: 1 }, asB);

      expect((await client.getCart({}, asB)).cart).toMatchObject({ userId: b });
      expect(lines((await client.getCart({}, asB)).cart)).toEqual([["cap", 1]]);
      expect(await codeOf(client.updateItem({ productId: "mug", qty: 9 }, asB))).toBe(Code.NotFound);
      await client.removeItem({ productId: "mug" }, asB);
      await client.clearCart({}, asB);

      const { cart } = await client.getCart({}, asA);
      expect(cart?.userId).toBe(a);
      expect(lines(cart)).toEqual([["mug", 2]]);
    });

    it("GetUserCart (internal) returns the named user's priced cart", async () => {
      const userId = uuidv7();
      await client.addItem({ productId: "tee", qty: 2 }, await as(userId));
      const { cart } = await client.getUserCart({ userId });
      expect(cart).toMatchObject({ userId, totalCents: 2 * 1999, currency: "EUR" });
      expect(await codeOf(client.getUserCart({ userId: "" }))).toBe(Code.InvalidArgument);
    });

    it("OrderPlaced takes the ordered units out of the cart once, even when delivered twice", async () => {
      const userId = uuidv7();
      const opts = await as(userId);
      await client.addItem({ productId: "mug", qty: 5 }, opts);
      await client.addItem({ productId: "tee", qty: 1 }, opts);
      await client.addItem({ productId: "cap", qty: 2 }, opts);
      const other = uuidv7();
      await client.addItem({ productId: "mug", qty: 3 }, await as(other));

      const event = orderPlaced(userId, [
        { productId: "mug", quantity: 2 },
        { productId: "tee", quantity: 1 },
      ]);
      await bus.publish([event]);
      await bus.drain();
      await bus.publish([event]);
      await bus.drain();

      expect(lines((await client.getCart({}, opts)).cart)).toEqual([
        ["mug", 3],
        ["cap", 2],
      ]);
      expect(lines((await client.getCart({}, await as(other))).cart)).toEqual([["mug", 3]]);

      const stranger = uuidv7();
      await bus.publish([orderPlaced(stranger, [{ productId: "mug", quantity: 1 }])]);
      await bus.drain();
      expect((await client.getUserCart({ userId: stranger })).cart?.updatedAt).toBeUndefined();

      const inbox = await t.kysely().selectFrom("inbox").selectAll().where("event_id", "=", event.id).execute();
      expect(inbox).toHaveLength(1);
    });

    it("ProductPriceChanged moves the product's lines to the new price with a notice, once; GetCart records it shown; re-adding clears it", async () => {
      byId.set("lamp", create(ProductSchema, { id: "lamp", name: "Lamp", priceCents: 3000, currency: "EUR", stock: 5, version: 1n }));
      const userId = uuidv7();
      const opts = await as(userId);
      await client.addItem({ productId: "lamp", qty: 2 }, opts);
      await client.addItem({ productId: "mug", qty: 1 }, opts);

      const event = priceChanged("lamp", 3000, 3500, 2n);
      await bus.publish([event]);
      await bus.drain();
      await bus.publish([event]);
      await bus.drain();
      // An older change arriving late is ignored.
      await bus.publish([priceChanged("lamp", 2000, 3000, 1n)]);
      await bus.drain();

      // Not yet shown: checkout still sees the price the shopper was shown.
      let { cart } = await client.getUserCart({ userId });
      expect(cart?.items[0]).toMatchObject({ productId: "lamp", unitPriceCents: 3500, priceChangedFromCents: 3000, shownPriceCents: 3000 });

      ({ cart } = await client.getCart({}, opts));
      expect(cart?.items).toEqual([
        expect.objectContaining({
          productId: "lamp",
          unitPriceCents: 3500,
          lineTotalCents: 7000,
          priceChangedFromCents: 3000,
          shownPriceCents: 3500,
        }),
        expect.objectContaining({ productId: "mug", unitPriceCents: 1250, priceChangedFromCents: 0 }),
      ]);
      expect(cart?.totalCents).toBe(7000 + 1250);
      ({ cart } = await client.getUserCart({ userId }));
      expect(cart?.items[0]).toMatchObject({ unitPriceCents: 3500, priceChangedFromCents: 3000, shownPriceCents: 3500 });

      byId.set("lamp", create(ProductSchema, { id: "lamp", name: "Lamp", priceCents: 3500, currency: "EUR", stock: 5, version: 2n }));
      ({ cart } = await client.addItem({ productId: "lamp", qty: 1 }, opts));
      expect(cart?.items[0]).toMatchObject({ productId: "lamp", quantity: 3, unitPriceCents: 3500, priceChangedFromCents: 0 });
    });

    it("GetCart takes a price the catalog changed before the event arrives, with a notice", async () => {
      byId.set("pen", create(ProductSchema, { id: "pen", name: "Pen", priceCents: 200, currency: "EUR", stock: 5, version: 1n }));
      const userId = uuidv7();
      const opts = await as(userId);
      await client.addItem({ productId: "pen", qty: 3 }, opts);
      byId.set("pen", create(ProductSchema, { id: "pen", name: "Pen", priceCents: 250, currency: "EUR", stock: 5, version: 2n }));
      expect((await client.getUserCart({ userId })).cart?.items[0]).toMatchObject({ unitPriceCents: 200, shownPriceCents: 200 });

      const { cart } = await client.getCart({}, opts);
      expect(cart?.items[0]).toMatchObject({ productId: "pen", unitPriceCents: 250, priceChangedFromCents: 200, shownPriceCents: 250 });
      // The event arriving afterwards changes nothing more.
      await bus.publish([priceChanged("pen", 200, 250, 2n)]);
      await bus.drain();
      expect((await client.getCart({}, opts)).cart?.items[0]).toMatchObject({ unitPriceCents: 250, priceChangedFromCents: 200 });
    });
  });
});
