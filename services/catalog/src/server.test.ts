import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { closeClient, type createClient, createLogger } from "@shopmesh/platform";
import {
  createTestClient,
  createTestTokenIssuer,
  databaseBackend,
  type TestDatabase,
  violatedFieldsOf,
  testTlsEnv,
  testMeshTls,
} from "@shopmesh/platform/testing";
import { CatalogService, ReservationStatus } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OperationsService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCatalogConfig } from "./config.js";
import { demoCatalog } from "./db/demo-catalog.js";
import { type CatalogServer, createCatalogServer } from "./index.js";

/** Signs the tokens the catalog verifies (operators' calls). */
const issuer = await createTestTokenIssuer();

/**
 * The catalog through its public contract: a real server on port 0 over Postgres, called by a
 * stock @grpc/grpc-js client built from the .proto files with @grpc/proto-loader (no shopmesh
 * code on the calling side), plus the platform's typed client for changes made "elsewhere".
 */

const protoRoot = fileURLToPath(new URL("../../../proto", import.meta.url));
const loaderOptions: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const healthProto = join(protoRoot, "grpc/health/v1/health.proto");
const reflectionProto = join(protoRoot, "grpc/reflection/v1/reflection.proto");

type AnyClient = grpc.Client & Record<string, (...args: any[]) => any>;

function stockClient(pkgFile: string, includeDirs: string[], servicePath: string, address: string, workload = "edge"): AnyClient {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(pkgFile, { ...loaderOptions, includeDirs })) as Record<string, any>;
  const Ctor = servicePath.split(".").reduce((o, k) => o[k], pkg) as typeof grpc.Client;
  // A stock grpc-js client of the mesh: the run's test certificates (as `workload`), expecting the catalog workload.
  const tls = testMeshTls(workload);
  return (
    tls
      ? new Ctor(address, tls.channelCredentials("catalog"), tls.channelOptions("catalog"))
      : new Ctor(address, grpc.credentials.createInsecure())
  ) as AnyClient;
}

/** A unary call on a stock client: resolves to the response or rejects with the ServiceError. */
function unary<T = any>(client: AnyClient, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method]!(request, { deadline: Date.now() + 5_000 }, (err: grpc.ServiceError | null, res: T) =>
      err ? reject(err) : resolve(res),
    );
  });
}

async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error("expected the call to fail");
}

/** Messages of a stream in arrival order, with time limits on waiting for them. */
function inbox<T = any>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<any, T>) {
  const queue: T[] = [];
  const waiters: Array<() => void> = [];
  let ended: { error?: grpc.ServiceError } | undefined;
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  call.on("data", (m: T) => {
    queue.push(m);
    wake();
  });
  call.on("error", (error: grpc.ServiceError) => {
    ended = { error };
    wake();
  });
  call.on("end", () => {
    ended ??= {};
    wake();
  });
  const waitFor = async (cond: () => boolean, ms: number) => {
    const until = Date.now() + ms;
    while (!cond()) {
      const left = until - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  };
  return {
    async next(ms = 5_000): Promise<T> {
      if (!(await waitFor(() => queue.length > 0 || ended !== undefined, ms))) throw new Error(`no message within ${ms} ms`);
      const m = queue.shift();
      if (m === undefined) throw new Error(`stream ended: ${ended?.error?.message ?? "ok"}`);
      return m;
    },
    /** Resolves to the messages that arrived within `ms` (expected: none). */
    async quiet(ms: number): Promise<T[]> {
      await new Promise((r) => setTimeout(r, ms));
      return queue.splice(0);
    },
    async ended(ms = 5_000): Promise<{ error?: grpc.ServiceError }> {
      if (!(await waitFor(() => ended !== undefined, ms))) throw new Error(`stream still open after ${ms} ms`);
      return ended!;
    },
  };
}

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

describe("catalog over gRPC", () => {
  let t: TestDatabase;
  let service: CatalogServer;
  let address: string;
  let catalog: AnyClient;
  let typed: ReturnType<typeof createClient<typeof CatalogService>>;

  const start = async (env: Record<string, string> = {}) => {
    const s = createCatalogServer({
      config: readCatalogConfig({ ...testTlsEnv(), DB_SCHEMA: t.schema, ...env }),
      verifier: issuer.verifier,
      db: t.db,
      logger,
      host: "127.0.0.1",
      port: 0,
    });
    await s.start();
    return s;
  };

  beforeAll(async () => {
    t = await databaseBackend.open();
    service = await start();
    address = `127.0.0.1:${service.port}`;
    catalog = stockClient("shop/catalog/v1/catalog.proto", [protoRoot], "shop.catalog.v1.CatalogService", address);
    typed = createTestClient(CatalogService, address);
  });

  afterAll(async () => {
    catalog?.close();
    if (typed) closeClient(typed);
    await service?.stop();
    await t?.cleanup();
  });

  describe("products", () => {
    it("lists the seeded demo catalog in pages, in a stable order", async () => {
      const first = await unary(catalog, "ListProducts", {});
      expect(first.items).toHaveLength(Math.min(20, demoCatalog.length));
      const ids: string[] = [];
      let token = "";
      do {
        const page = await unary(catalog, "ListProducts", { page_size: 5, page_token: token });
        expect(page.items.length).toBeLessThanOrEqual(5);
        ids.push(...page.items.map((p: { id: string }) => p.id));
        token = page.next_page_token;
      } while (token !== "");
      expect(new Set(ids).size).toBe(demoCatalog.length);
      expect(ids).toEqual(first.items.map((p: { id: string }) => p.id).concat(ids.slice(first.items.length)));
      const names = (await unary(catalog, "ListProducts", { page_size: 100 })).items.map((p: { name: string }) => p.name);
      expect(names).toEqual([...names].sort((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)));
    });

    it("filters by category", async () => {
      const tea = await unary(catalog, "ListProducts", { category: "tea", page_size: 100 });
      const expected = demoCatalog.filter((p) => p.categories.includes("tea")).map((p) => p.id);
      expect(tea.items.map((p: { id: string }) => p.id).sort()).toEqual(expected.sort());
      expect(tea.next_page_token).toBe("");
    });

    it("answers INVALID_ARGUMENT naming page_size or page_token", async () => {
      for (const page_size of [-1, 101]) {
        const err = await failure(unary(catalog, "ListProducts", { page_size }));
        expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(err.details).toMatch(/^page_size\b/);
      }
      const err = await failure(unary(catalog, "ListProducts", { page_token: "definitely-not-a-token" }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/^page_token\b/);
    });

    it("names every bad field of ListProducts, ReserveStock and ReleaseStock at once, one field violation each", async () => {
      const fields = violatedFieldsOf;
      expect(await fields(typed.listProducts({ pageSize: 101, pageToken: "definitely-not-a-token", category: "Not A Slug" }))).toEqual([
        "page_size",
        "page_token",
        "category",
      ]);
      expect(await fields(typed.reserveStock({ orderId: "", items: [] }))).toEqual(["order_id", "items"]);
      expect(await fields(typed.releaseStock({ orderId: "", reason: "x".repeat(201) }))).toEqual(["order_id", "reason"]);
    });

    it("names every bad field of AdjustStock, WatchStock and the internal listings at once; good requests still pass", async () => {
      const fields = violatedFieldsOf;
      expect(await fields(typed.adjustStock({ productId: "bad id", delta: 0, reason: "x".repeat(201) }))).toEqual([
        "product_id",
        "delta",
        "reason",
      ]);
      expect(await fields(typed.adjustStock({ productId: "p-canister", delta: 2_000_000, reason: "" }))).toEqual(["delta"]);
      expect(await fields(typed.listStockBooks({ pageSize: 501, pageToken: "definitely-not-a-token" }))).toEqual([
        "page_size",
        "page_token",
      ]);
      expect(await fields(typed.listReservations({ pageSize: -1, pageToken: "definitely-not-a-token" }))).toEqual([
        "page_size",
        "page_token",
      ]);
      expect(await fields(typed.batchGetProducts({ ids: ["", "p-canister", "a b"] }))).toEqual(["ids[0]", "ids[2]"]);
      expect(await fields(typed.reserveStock({ orderId: "o-fields", items: [{ productId: "", quantity: 0 }] }))).toEqual([
        "items[0].product_id",
        "items[0].quantity",
      ]);
      async function* badWatch() {
        yield { addProductIds: ["bad id", "p-canister"], removeProductIds: [""] };
      }
      const watching = (async () => {
        for await (const _ of typed.watchStock(badWatch())) {
          // no level is sent for a refused request
        }
      })();
      expect(await fields(watching)).toEqual(["add_product_ids[0]", "remove_product_ids[0]"]);

      const books = await typed.listStockBooks({ pageSize: 2 });
      expect(books.items).toHaveLength(2);
      const next = await typed.listStockBooks({ pageSize: 2, pageToken: books.nextPageToken });
      expect(next.items.map((b) => b.productId)).not.toContain(books.items[1]?.productId);
      expect((await typed.listReservations({ pageSize: 500 })).nextPageToken).toBe("");
      const adjusted = await typed.adjustStock({ productId: "p-canister", delta: 1, reason: "" });
      expect(adjusted.level?.productId).toBe("p-canister");
      await typed.adjustStock({ productId: "p-canister", delta: -1, reason: "recount" });
      // Each adjustment is in the service's audit log.
      const ops = createTestClient(OperationsService, address, { serverWorkload: "catalog" });
      try {
        const audit = (await ops.listAudit({ pageSize: 100 })).items.filter((a) => a.target === "p-canister");
        expect(audit.slice(0, 2).map((a) => [a.action, a.reason, a.details?.delta])).toEqual([
          ["stock.adjust", "recount", -1],
          ["stock.adjust", "unspecified", 1],
        ]);
      } finally {
        closeClient(ops);
      }
    });

    it("gets one product, NOT_FOUND for an unknown id, INVALID_ARGUMENT for an empty one", async () => {
      const seed = demoCatalog[0]!;
      const { product } = await unary(catalog, "GetProduct", { id: seed.id });
      expect(product).toMatchObject({
        id: seed.id,
        name: seed.name,
        description: seed.description,
        price_cents: seed.priceCents,
        currency: "EUR",
        image_url: `/images/${seed.id}.svg`,
        categories: [...seed.categories],
        stock: seed.onHand,
      });
      expect(Number(product.updated_at.seconds)).toBeGreaterThan(0);
      expect((await failure(unary(catalog, "GetProduct", { id: "p-nope" }))).code).toBe(grpc.status.NOT_FOUND);
      expect((await failure(unary(catalog, "GetProduct", { id: "" }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    });

    it("batch-gets products in request order and lists missing ids", async () => {
      const [a, b] = demoCatalog;
      const res = await unary(catalog, "BatchGetProducts", { ids: [b!.id, "p-nope", a!.id] });
      expect(res.products.map((p: { id: string }) => p.id)).toEqual([b!.id, a!.id]);
      expect(res.missing_ids).toEqual(["p-nope"]);
      expect((await failure(unary(catalog, "BatchGetProducts", { ids: [] }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    });
  });

  describe("stock", () => {
    it("reserves, replays, releases and adjusts", async () => {
      // Their callers in the mesh (the call policies): order reserves and releases, an operator adjusts.
      const order = stockClient("shop/catalog/v1/catalog.proto", [protoRoot], "shop.catalog.v1.CatalogService", address, "order");
      const operator = stockClient("shop/catalog/v1/catalog.proto", [protoRoot], "shop.catalog.v1.CatalogService", address, "reconcile");
      const id = "p-burr-grinder"; // 15 on hand
      const reserve = { order_id: "o-grpc-1", items: [{ product_id: id, quantity: 4 }] };
      expect(await unary(order, "ReserveStock", reserve)).toEqual({ status: "RESERVATION_STATUS_RESERVED", shortages: [] });
      expect((await unary(order, "ReserveStock", reserve)).status).toBe("RESERVATION_STATUS_RESERVED");
      expect((await unary(catalog, "GetProduct", { id })).product.stock).toBe(11);

      const short = await unary(order, "ReserveStock", { order_id: "o-grpc-2", items: [{ product_id: id, quantity: 12 }] });
      expect(short).toEqual({ status: "RESERVATION_STATUS_REJECTED", shortages: [{ product_id: id, requested: 12, available: 11 }] });

      expect((await unary(order, "ReleaseStock", { order_id: "o-grpc-1", reason: "payment_declined" })).status).toBe(
        "RESERVATION_STATUS_RELEASED",
      );
      expect((await unary(order, "ReleaseStock", { order_id: "o-grpc-1" })).status).toBe("RESERVATION_STATUS_RELEASED");
      expect((await unary(order, "ReleaseStock", { order_id: "o-grpc-2" })).status).toBe("RESERVATION_STATUS_REJECTED");
      expect((await unary(order, "ReleaseStock", { order_id: "o-never" })).status).toBe("RESERVATION_STATUS_UNSPECIFIED");

      const adjusted = await unary(operator, "AdjustStock", { product_id: id, delta: 5, reason: "received" });
      expect(adjusted.level).toMatchObject({ product_id: id, available: 20 });
      const below = await failure(unary(operator, "AdjustStock", { product_id: id, delta: -21, reason: "recount" }));
      expect(below.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect((await failure(unary(operator, "AdjustStock", { product_id: "p-nope", delta: 1 }))).code).toBe(grpc.status.NOT_FOUND);
      const zero = await failure(unary(operator, "AdjustStock", { product_id: id, delta: 0 }));
      expect(zero.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(zero.details).toMatch(/^delta\b/);
      const bad = await failure(unary(order, "ReserveStock", { order_id: "o-bad", items: [{ product_id: id, quantity: 0 }] }));
      expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(bad.details).toMatch(/^items\[0\]\.quantity\b/);
      const reused = await failure(unary(order, "ReserveStock", { order_id: "o-grpc-2", items: [{ product_id: id, quantity: 1 }] }));
      expect(reused.code).toBe(grpc.status.ALREADY_EXISTS);
      order.close();
      operator.close();
    });

    it("WatchStock: current level on subscribe, every change, nothing after unsubscribe", async () => {
      const [a, b] = ["p-moka-pot", "p-french-press"];
      const call = catalog.WatchStock!() as grpc.ClientDuplexStream<any, any>;
      const box = inbox(call);
      call.write({ add_product_ids: [a] });
      const initial = (await box.next()).level;
      expect(initial).toMatchObject({ product_id: a, available: 40 });
      expect(Number(initial.updated_at.seconds)).toBeGreaterThan(0);

      // Changes made by other calls, through another client.
      await typed.adjustStock({ productId: a, delta: -3, reason: "damaged" });
      expect((await box.next()).level).toMatchObject({ product_id: a, available: 37 });
      await typed.reserveStock({ orderId: "o-watch-1", items: [{ productId: a, quantity: 2 }] });
      expect((await box.next()).level).toMatchObject({ product_id: a, available: 35 });

      // A second product joins; the first leaves and stays silent.
      call.write({ add_product_ids: [b], remove_product_ids: [a] });
      expect((await box.next()).level).toMatchObject({ product_id: b, available: 35 });
      await typed.adjustStock({ productId: a, delta: 1, reason: "recount" });
      await typed.adjustStock({ productId: b, delta: 2, reason: "received" });
      expect((await box.next()).level).toMatchObject({ product_id: b, available: 37 });
      expect(await box.quiet(200)).toEqual([]);

      // Adding an id again answers with its level again.
      call.write({ add_product_ids: [b] });
      expect((await box.next()).level).toMatchObject({ product_id: b, available: 37 });

      // Half-closed with nothing watched: the server ends the stream with OK.
      call.write({ remove_product_ids: [b] });
      call.end();
      expect((await box.ended()).error).toBeUndefined();
      expect(await box.quiet(50)).toEqual([]);
    });

    it("WatchStock fails with NOT_FOUND for an unknown product and INVALID_ARGUMENT for a bad id", async () => {
      const call = catalog.WatchStock!() as grpc.ClientDuplexStream<any, any>;
      const box = inbox(call);
      call.write({ add_product_ids: ["p-nope"] });
      expect((await box.ended()).error?.code).toBe(grpc.status.NOT_FOUND);

      const call2 = catalog.WatchStock!() as grpc.ClientDuplexStream<any, any>;
      const box2 = inbox(call2);
      call2.write({ add_product_ids: ["bad id"] });
      const { error } = await box2.ended();
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toMatch(/^add_product_ids\[0\]/);
    });

    it("StreamStock: current levels first, then changes; cancel ends it", async () => {
      const [a, b] = ["p-sencha-tea", "p-travel-mug"];
      const call = catalog.StreamStock!({ product_ids: [a, b] }) as grpc.ClientReadableStream<any>;
      const box = inbox(call);
      const first = [(await box.next()).level, (await box.next()).level];
      expect(first.map((l) => [l.product_id, l.available]).sort()).toEqual([
        [a, 110],
        [b, 65],
      ]);
      await typed.reserveStock({ orderId: "o-stream-1", items: [{ productId: b, quantity: 5 }] });
      expect((await box.next()).level).toMatchObject({ product_id: b, available: 60 });
      call.cancel();
      expect((await box.ended()).error?.code).toBe(grpc.status.CANCELLED);

      const missing = inbox(catalog.StreamStock!({ product_ids: [a, "p-nope"] }) as grpc.ClientReadableStream<any>);
      expect((await missing.ended()).error?.code).toBe(grpc.status.NOT_FOUND);
      const empty = inbox(catalog.StreamStock!({ product_ids: [] }) as grpc.ClientReadableStream<any>);
      const { error } = await empty.ended();
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toMatch(/^product_ids\b/);
    });

    it("StreamStock through the platform client ends when the consumer stops", async () => {
      const levels: number[] = [];
      for await (const res of typed.streamStock({ productIds: ["p-canister"] })) {
        levels.push(res.level?.available ?? -1);
        break;
      }
      expect(levels).toEqual([45]);
    });
  });

  describe("product management", () => {
    /** A unary call from the edge's workload carrying `token` (an operator's or a shopper's), on a stock client. */
    const asEdge = async <T = any>(method: string, request: object, token: string): Promise<T> => {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${token}`);
      return new Promise((resolve, reject) => {
        edge[method]!(request, metadata, { deadline: Date.now() + 5_000 }, (err: grpc.ServiceError | null, res: T) =>
          err ? reject(err) : resolve(res),
        );
      });
    };
    let edge: AnyClient;
    let operatorToken: string;
    let shopperToken: string;
    const operator = <T = any>(method: string, request: object) => asEdge<T>(method, request, operatorToken);
    const kettle = {
      id: "p-managed-kettle",
      name: "Zephyr Kettle",
      description: "A kettle for pour-over coffee.",
      price_cents: 4900,
      currency: "EUR",
      categories: ["coffee", "kitchen"],
      image_urls: ["/images/p-managed-kettle.svg", "https://cdn.example.com/kettle-side.jpg"],
      initial_stock: 12,
    };
    const tokenOf = async (opts: { operator: boolean }) =>
      (opts.operator ? await issuer.asOperator("operator-7") : await issuer.as("shopper-7")).metadata.authorization.replace("Bearer ", "");

    beforeAll(async () => {
      edge = stockClient("shop/catalog/v1/catalog.proto", [protoRoot], "shop.catalog.v1.CatalogService", address, "edge");
      operatorToken = await tokenOf({ operator: true });
      shopperToken = await tokenOf({ operator: false });
    });
    afterAll(() => edge?.close());

    it("creates a product at version 1 with its initial stock, readable and listed; a taken id is ALREADY_EXISTS", async () => {
      const { product } = await operator("CreateProduct", kettle);
      expect(product).toMatchObject({
        id: kettle.id,
        name: kettle.name,
        price_cents: 4900,
        currency: "EUR",
        categories: ["coffee", "kitchen"],
        image_urls: kettle.image_urls,
        image_url: kettle.image_urls[0],
        stock: 12,
        version: "1",
        archived: false,
      });
      expect((await unary(catalog, "GetProduct", { id: kettle.id })).product).toMatchObject({ version: "1", stock: 12 });
      const listed = await unary(catalog, "ListProducts", { category: "kitchen", page_size: 100 });
      expect(listed.items.map((p: { id: string }) => p.id)).toContain(kettle.id);
      const found = await unary(catalog, "ListProducts", { q: "zephyr", page_size: 100 });
      expect(found.items.map((p: { id: string }) => p.id)).toEqual([kettle.id]);
      const taken = await failure(operator("CreateProduct", { ...kettle, name: "Another" }));
      expect(taken.code).toBe(grpc.status.ALREADY_EXISTS);
    });

    it("names every bad field of CreateProduct, UpdateProduct and ArchiveProduct at once", async () => {
      const fields = violatedFieldsOf;
      expect(
        await fields(
          typed.createProduct({
            id: "bad id",
            name: " ",
            description: "x".repeat(5001),
            priceCents: 0,
            currency: "eur",
            categories: ["Kitchen", "tea", "tea"],
            imageUrls: ["javascript:alert(1)"],
            initialStock: -1,
          }),
        ),
      ).toEqual([
        "id",
        "name",
        "description",
        "price_cents",
        "currency",
        "categories[0]",
        "categories[2]",
        "image_urls[0]",
        "initial_stock",
      ]);
      const good = { name: "Kettle", description: "", priceCents: 100, currency: "EUR", categories: [], imageUrls: [] };
      expect(await fields(typed.updateProduct({ id: kettle.id, expectedVersion: 0n, ...good, priceCents: 200_000_000 }))).toEqual([
        "expected_version",
        "price_cents",
      ]);
      expect(await fields(typed.archiveProduct({ id: "", expectedVersion: -2n, reason: "x".repeat(201) }))).toEqual([
        "id",
        "expected_version",
        "reason",
      ]);
    });

    it("updates every field at the expected version; a stale version is FAILED_PRECONDITION; cached reads see the change", async () => {
      // Read through the cache first: the update must replace what it holds.
      expect((await unary(catalog, "GetProduct", { id: kettle.id })).product.price_cents).toBe(4900);
      expect((await unary(catalog, "BatchGetProducts", { ids: [kettle.id] })).products[0].price_cents).toBe(4900);
      const change = {
        ...kettle,
        initial_stock: undefined,
        name: "Zephyr Kettle 1L",
        price_cents: 5400,
        categories: ["coffee"],
        image_urls: [],
      };
      const { product } = await operator("UpdateProduct", { ...change, expected_version: "1" });
      expect(product).toMatchObject({
        name: "Zephyr Kettle 1L",
        price_cents: 5400,
        categories: ["coffee"],
        image_url: "",
        version: "2",
        stock: 12,
      });
      expect((await unary(catalog, "GetProduct", { id: kettle.id })).product).toMatchObject({ price_cents: 5400, version: "2" });
      expect((await unary(catalog, "BatchGetProducts", { ids: [kettle.id] })).products[0]).toMatchObject({
        price_cents: 5400,
        version: "2",
      });
      const kitchen = await unary(catalog, "ListProducts", { category: "kitchen", page_size: 100 });
      expect(kitchen.items.map((p: { id: string }) => p.id)).not.toContain(kettle.id);

      const stale = await failure(operator("UpdateProduct", { ...change, price_cents: 1, expected_version: "1" }));
      expect(stale.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect((await unary(catalog, "GetProduct", { id: kettle.id })).product.price_cents).toBe(5400);
      expect((await failure(operator("UpdateProduct", { ...change, id: "p-nope", expected_version: "1" }))).code).toBe(
        grpc.status.NOT_FOUND,
      );
      // Stock changes leave the version as it is.
      await typed.adjustStock({ productId: kettle.id, delta: 3, reason: "received" });
      expect((await unary(catalog, "GetProduct", { id: kettle.id })).product).toMatchObject({ stock: 15, version: "2" });
    });

    it("lets exactly one of concurrent changes at the same version through; the others are FAILED_PRECONDITION", async () => {
      const id = "p-contended";
      await operator("CreateProduct", { ...kettle, id, name: "Contended", categories: [], initial_stock: 0 });
      const outcomes = await Promise.all(
        [4100, 4200, 4300, 4400].map((price_cents) =>
          operator("UpdateProduct", { ...kettle, id, name: "Contended", categories: [], price_cents, expected_version: "1" }).then(
            (res) => ["ok", res.product.price_cents] as const,
            (err: grpc.ServiceError) => [err.code, 0] as const,
          ),
        ),
      );
      const won = outcomes.filter(([outcome]) => outcome === "ok");
      expect(won).toHaveLength(1);
      expect(outcomes.filter(([outcome]) => outcome === grpc.status.FAILED_PRECONDITION)).toHaveLength(3);
      expect((await unary(catalog, "GetProduct", { id })).product).toMatchObject({ version: "2", price_cents: won[0]?.[1] });
      await operator("ArchiveProduct", { id, expected_version: "2" });
    });

    it("archives: still readable by id, no longer listed, searched, reserved or changed; archiving again changes nothing", async () => {
      const stale = await failure(operator("ArchiveProduct", { id: kettle.id, expected_version: "1", reason: "discontinued" }));
      expect(stale.code).toBe(grpc.status.FAILED_PRECONDITION);
      const { product } = await operator("ArchiveProduct", { id: kettle.id, expected_version: "2", reason: "discontinued" });
      expect(product).toMatchObject({ archived: true, version: "3", price_cents: 5400 });
      expect((await unary(catalog, "GetProduct", { id: kettle.id })).product).toMatchObject({ archived: true, version: "3" });
      const batch = await unary(catalog, "BatchGetProducts", { ids: [kettle.id] });
      expect(batch.products[0]).toMatchObject({ id: kettle.id, archived: true });
      expect(batch.missing_ids).toEqual([]);
      expect(
        (await unary(catalog, "ListProducts", { category: "coffee", page_size: 100 })).items.map((p: { id: string }) => p.id),
      ).not.toContain(kettle.id);
      expect((await unary(catalog, "ListProducts", { q: "zephyr", page_size: 100 })).items).toEqual([]);
      // Listed to an operator who asks for archived products too; refused to anyone else who asks.
      const withArchived = await operator("ListProducts", { q: "zephyr", page_size: 100, include_archived: true });
      expect(withArchived.items).toEqual([expect.objectContaining({ id: kettle.id, archived: true })]);
      const everything = await operator("ListProducts", { category: "coffee", page_size: 100, include_archived: true });
      expect(everything.items.map((p: { id: string }) => p.id)).toContain(kettle.id);
      expect((await failure(asEdge("ListProducts", { include_archived: true }, shopperToken))).code).toBe(grpc.status.PERMISSION_DENIED);
      expect((await failure(unary(catalog, "ListProducts", { include_archived: true }))).code).toBe(grpc.status.UNAUTHENTICATED);

      const rejected = await typed.reserveStock({ orderId: "o-archived-1", items: [{ productId: kettle.id, quantity: 1 }] });
      expect(rejected.status).toBe(ReservationStatus.REJECTED);
      expect(rejected.shortages).toEqual([expect.objectContaining({ productId: kettle.id, requested: 1, available: 0 })]);
      expect((await unary(catalog, "GetProduct", { id: kettle.id })).product.stock).toBe(15);

      const change = { ...kettle, initial_stock: undefined, expected_version: "3" };
      expect((await failure(operator("UpdateProduct", change))).code).toBe(grpc.status.FAILED_PRECONDITION);
      const again = await operator("ArchiveProduct", { id: kettle.id, expected_version: "3" });
      expect(again.product).toMatchObject({ archived: true, version: "3" });
      expect((await failure(operator("ArchiveProduct", { id: "p-nope", expected_version: "1" }))).code).toBe(grpc.status.NOT_FOUND);
    });

    it("records every change in the audit log", async () => {
      const ops = createTestClient(OperationsService, address, { serverWorkload: "catalog" });
      try {
        const audit = (await ops.listAudit({ pageSize: 100 })).items.filter((a) => a.target === kettle.id);
        expect(audit.map((a) => [a.action, a.actor, a.reason])).toEqual([
          ["product.archive", "operator-7", "discontinued"],
          ["stock.adjust", "workload:reconcile", "received"],
          ["product.update", "operator-7", ""],
          ["product.create", "operator-7", ""],
        ]);
        expect(audit[2]?.details).toMatchObject({ version: 2, old_price_cents: 4900, price_cents: 5400 });
      } finally {
        closeClient(ops);
      }
    });

    it("keeps each product's price history, newest first and in pages: its first price and every change, by whom", async () => {
      // The kettle: created at 4900, changed to 5400 (version 2), then archived and adjusted, which leave the price alone.
      const history = await operator("ListPriceChanges", { product_id: kettle.id });
      expect(
        history.items.map((c: Record<string, unknown>) => [
          c.old_price_cents,
          c.old_currency,
          c.new_price_cents,
          c.currency,
          c.version,
          c.changed_by,
        ]),
      ).toEqual([
        [4900, "EUR", 5400, "EUR", "2", "operator-7"],
        [0, "", 4900, "EUR", "1", "operator-7"],
      ]);
      expect(history.items[0].changed_at).toBeDefined();
      expect(history.next_page_token).toBe("");

      const first = await operator("ListPriceChanges", { product_id: kettle.id, page_size: 1 });
      expect(first.items.map((c: { version: string }) => c.version)).toEqual(["2"]);
      const second = await operator("ListPriceChanges", { product_id: kettle.id, page_size: 1, page_token: first.next_page_token });
      expect(second.items.map((c: { version: string }) => c.version)).toEqual(["1"]);
      expect(second.next_page_token).toBe("");

      // The demo catalog's products start with the seed's price.
      const seeded = demoCatalog[0];
      if (!seeded) throw new Error("the demo catalog is empty");
      const seededHistory = await operator("ListPriceChanges", { product_id: seeded.id });
      expect(seededHistory.items).toEqual([
        expect.objectContaining({ new_price_cents: seeded.priceCents, currency: seeded.currency, version: "1", changed_by: "seed" }),
      ]);

      expect((await failure(operator("ListPriceChanges", { product_id: "p-no-such-product" }))).code).toBe(grpc.status.NOT_FOUND);
      expect(await violatedFieldsOf(typed.listPriceChanges({ productId: "", pageSize: 101, pageToken: "???" }))).toEqual([
        "product_id",
        "page_size",
        "page_token",
      ]);
      expect((await failure(asEdge("ListPriceChanges", { product_id: kettle.id }, shopperToken))).code).toBe(grpc.status.PERMISSION_DENIED);
    });

    it("refuses a shopper's token on every write (PERMISSION_DENIED) and changes nothing", async () => {
      const writes: Array<[string, object]> = [
        ["CreateProduct", { ...kettle, id: "p-shopper-made" }],
        ["UpdateProduct", { ...kettle, id: "p-canister", initial_stock: undefined, expected_version: "1" }],
        ["ArchiveProduct", { id: "p-canister", expected_version: "1" }],
      ];
      for (const [method, request] of writes) {
        expect((await failure(asEdge(method, request, shopperToken))).code, method).toBe(grpc.status.PERMISSION_DENIED);
      }
      expect((await unary(catalog, "BatchGetProducts", { ids: ["p-shopper-made"] })).missing_ids).toEqual(["p-shopper-made"]);
      expect((await unary(catalog, "GetProduct", { id: "p-canister" })).product).toMatchObject({ archived: false, version: "1" });
    });
  });

  describe("health and reflection", () => {
    it("reports SERVING on Check and Watch", async () => {
      const health = stockClient(healthProto, [], "grpc.health.v1.Health", address);
      try {
        for (const name of ["", "shop.catalog.v1.CatalogService"]) {
          expect(await unary(health, "Check", { service: name })).toEqual({ status: "SERVING" });
        }
        expect((await failure(unary(health, "Check", { service: "nope.Service" }))).code).toBe(grpc.status.NOT_FOUND);
        const watch = health.Watch!({ service: "shop.catalog.v1.CatalogService" }) as grpc.ClientReadableStream<any>;
        const box = inbox(watch);
        expect(await box.next()).toEqual({ status: "SERVING" });
        watch.cancel();
      } finally {
        health.close();
      }
    });

    it("lists the services and serves their descriptors over reflection", async () => {
      const reflection = stockClient(reflectionProto, [], "grpc.reflection.v1.ServerReflection", address);
      try {
        const call = reflection.ServerReflectionInfo!() as grpc.ClientDuplexStream<any, any>;
        const box = inbox(call);
        call.write({ list_services: "" });
        const listed = await box.next();
        const names = listed.list_services_response.service.map((s: { name: string }) => s.name);
        expect(names).toEqual(expect.arrayContaining(["shop.catalog.v1.CatalogService", "grpc.health.v1.Health"]));

        call.write({ file_containing_symbol: "shop.catalog.v1.CatalogService" });
        const files = (await box.next()).file_descriptor_response.file_descriptor_proto as Buffer[];
        const protos = files.map((f) => fromBinary(FileDescriptorProtoSchema, f));
        const file = protos.find((p) => p.name === "shop/catalog/v1/catalog.proto");
        expect(file?.service[0]?.method.map((m) => m.name)).toEqual([
          "ListProducts",
          "GetProduct",
          "BatchGetProducts",
          "WatchStock",
          "StreamStock",
          "ReserveStock",
          "ReleaseStock",
          "AdjustStock",
          "CreateProduct",
          "UpdateProduct",
          "ArchiveProduct",
          "ListPriceChanges",
          "ListStockBooks",
          "ListStockAdjustments",
          "ListReservations",
        ]);
        call.end();
        await box.ended();
      } finally {
        reflection.close();
      }
    });
  });

  describe("lifecycle", () => {
    it("seeds on the first start only", async () => {
      // The schema already holds the seeded catalog with changed stock: a second start keeps it.
      const again = await start();
      try {
        const client = createTestClient(CatalogService, `127.0.0.1:${again.port}`);
        const { items } = await client.listProducts({ pageSize: 100 });
        expect(items).toHaveLength(demoCatalog.length);
        expect(items.find((p) => p.id === "p-moka-pot")?.stock).toBe(36);
        closeClient(client);
      } finally {
        await again.stop();
      }
    });

    it("ends open stock streams promptly on stop", async () => {
      const s = await start({ SEED_DEMO_CATALOG: "false", SHUTDOWN_GRACE_MS: "5000" });
      const client = stockClient("shop/catalog/v1/catalog.proto", [protoRoot], "shop.catalog.v1.CatalogService", `127.0.0.1:${s.port}`);
      try {
        const call = client.StreamStock!({ product_ids: ["p-moka-pot"] }) as grpc.ClientReadableStream<any>;
        const box = inbox(call);
        await box.next();
        const watch = client.WatchStock!() as grpc.ClientDuplexStream<any, any>;
        const wbox = inbox(watch);
        watch.write({ add_product_ids: ["p-moka-pot"] });
        await wbox.next();
        const started = Date.now();
        await s.stop();
        expect(Date.now() - started).toBeLessThan(2_000);
        expect((await box.ended()).error?.code).toBe(grpc.status.UNAVAILABLE);
        expect((await wbox.ended()).error?.code).toBe(grpc.status.UNAVAILABLE);
      } finally {
        client.close();
      }
    });
  });
});
