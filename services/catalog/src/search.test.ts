import type { MessageInitShape } from "@bufbuild/protobuf";
import { closeClient, type createClient, createLogger } from "@shopmesh/platform";
import {
  createTestClient,
  createTestTokenIssuer,
  databaseBackend,
  type TestDatabase,
  testTlsEnv,
  violatedFieldsOf,
} from "@shopmesh/platform/testing";
import { CatalogService, type ListProductsRequestSchema, ProductSort } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCatalogConfig } from "./config.js";
import type { NewProduct } from "./domain/product.js";
import { type CatalogServer, createCatalogServer } from "./index.js";

/**
 * ListProducts as a search: text, category and price filters, the orders, and paging while
 * products are added, through the gRPC contract of a real server over Postgres.
 */

type ListRequest = MessageInitShape<typeof ListProductsRequestSchema>;

const issuer = await createTestTokenIssuer();
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

const product = (p: Pick<NewProduct, "id" | "name" | "description" | "priceCents" | "categories">): NewProduct => ({
  ...p,
  currency: "EUR",
  imageUrl: "",
  onHand: 5,
});

const shelf: readonly NewProduct[] = [
  product({
    id: "p-studio-headphones",
    name: "Studio Headphones",
    description: "Closed-back, for mixing.",
    priceCents: 8900,
    categories: ["audio"],
  }),
  product({
    id: "p-headphone-stand",
    name: "Headphone Stand",
    description: "Walnut, with a cable hook.",
    priceCents: 2900,
    categories: ["audio", "desk"],
  }),
  product({
    id: "p-desk-amplifier",
    name: "Desk Amplifier",
    description: "Drives any headphones with ease.",
    priceCents: 12900,
    categories: ["audio", "desk"],
  }),
  product({
    id: "p-audio-cable",
    name: "Audio Cable",
    description: "Braided cable for headphones and speakers.",
    priceCents: 990,
    categories: ["audio"],
  }),
  product({ id: "p-desk-lamp", name: "Desk Lamp", description: "Warm light for late sessions.", priceCents: 3900, categories: ["desk"] }),
];

describe("ListProducts as a search", () => {
  let t: TestDatabase;
  let service: CatalogServer;
  let client: ReturnType<typeof createClient<typeof CatalogService>>;

  const list = (req: ListRequest) => client.listProducts({ pageSize: 100, ...req });
  const ids = async (req: ListRequest) => (await list(req)).items.map((p) => p.id);

  beforeAll(async () => {
    t = await databaseBackend.open();
    service = createCatalogServer({
      config: readCatalogConfig({ ...testTlsEnv(), DB_SCHEMA: t.schema, SEED_DEMO_CATALOG: "false" }),
      verifier: issuer.verifier,
      db: t.db,
      logger,
      host: "127.0.0.1",
      port: 0,
    });
    await service.start();
    await service.catalog.addProducts(shelf);
    client = createTestClient(CatalogService, `127.0.0.1:${service.port}`);
  });

  afterAll(async () => {
    if (client) closeClient(client);
    await service?.stop();
    await t?.cleanup();
  });

  it("ranks a match in the name above a match in the description, and finds words in any form", async () => {
    const found = await ids({ q: "headphones" });
    expect(found).toHaveLength(4);
    expect(found.slice(0, 2).sort()).toEqual(["p-headphone-stand", "p-studio-headphones"]);
    expect(found.slice(2).sort()).toEqual(["p-audio-cable", "p-desk-amplifier"]);
    expect(await ids({ q: "headphones", sort: ProductSort.RELEVANCE })).toEqual(found);
    expect(await ids({ q: "lamps" })).toEqual(["p-desk-lamp"]);
    expect(await ids({ q: "headphones -cable" })).not.toContain("p-audio-cable");
    expect(await ids({ q: "nothing like this" })).toEqual([]);
  });

  it("matches the last word as a prefix", async () => {
    expect((await ids({ q: "headph" })).sort()).toEqual(["p-audio-cable", "p-desk-amplifier", "p-headphone-stand", "p-studio-headphones"]);
    expect(await ids({ q: "desk la" })).toEqual(["p-desk-lamp"]);
    expect(await ids({ q: "  Studio HEADPH  " })).toEqual(["p-studio-headphones"]);
  });

  it("filters by category and by price range, bounds included, with or without a query", async () => {
    expect((await ids({ q: "headphones", category: "desk" })).sort()).toEqual(["p-desk-amplifier", "p-headphone-stand"]);
    expect(await ids({ minPriceCents: 2900, maxPriceCents: 8900, sort: ProductSort.PRICE_ASC })).toEqual([
      "p-headphone-stand",
      "p-desk-lamp",
      "p-studio-headphones",
    ]);
    expect(await ids({ maxPriceCents: 990 })).toEqual(["p-audio-cable"]);
    expect(await ids({ minPriceCents: 0, maxPriceCents: 0 })).toEqual([]);
    expect((await ids({ q: "headph", category: "audio", minPriceCents: 1000 })).sort()).toEqual([
      "p-desk-amplifier",
      "p-headphone-stand",
      "p-studio-headphones",
    ]);
  });

  it("sorts by price either way and by name; relevance without a query is by name", async () => {
    const byPrice = ["p-audio-cable", "p-headphone-stand", "p-desk-lamp", "p-studio-headphones", "p-desk-amplifier"];
    expect(await ids({ sort: ProductSort.PRICE_ASC })).toEqual(byPrice);
    expect(await ids({ sort: ProductSort.PRICE_DESC })).toEqual([...byPrice].reverse());
    const byName = ["p-audio-cable", "p-desk-amplifier", "p-desk-lamp", "p-headphone-stand", "p-studio-headphones"];
    expect(await ids({})).toEqual(byName);
    expect(await ids({ sort: ProductSort.NAME })).toEqual(byName);
    expect(await ids({ sort: ProductSort.RELEVANCE })).toEqual(byName);
    expect(await ids({ q: "headphones", sort: ProductSort.NAME })).toEqual([
      "p-audio-cable",
      "p-desk-amplifier",
      "p-headphone-stand",
      "p-studio-headphones",
    ]);
  });

  it("answers a product created, renamed or archived since the same search was answered", async () => {
    const fields = { description: "Hand-thrown.", currency: "EUR", categories: ["kitchen"], imageUrls: [] };
    const req = { q: "teapot", category: "kitchen" };
    expect(await ids(req)).toEqual([]);
    await client.createProduct({ id: "p-teapot", ...fields, name: "Stoneware Teapot", priceCents: 4200, initialStock: 3 });
    expect(await ids(req)).toEqual(["p-teapot"]);
    await client.updateProduct({ id: "p-teapot", expectedVersion: 1n, ...fields, name: "Stoneware Kettle", priceCents: 4200 });
    expect(await ids(req)).toEqual([]);
    expect(await ids({ q: "kettle", category: "kitchen" })).toEqual(["p-teapot"]);
    await client.archiveProduct({ id: "p-teapot", expectedVersion: 2n, reason: "discontinued" });
    expect(await ids({ q: "kettle", category: "kitchen" })).toEqual([]);
  });

  describe("pages without duplicates or gaps while products are added", () => {
    let n = 0;
    /** A product of the paging category; every other one mentions the lamp only in its description. */
    const lamp = (category: string, priceCents: number, prefix: string) => {
      n++;
      const id = `p-${prefix}-lamp-${String(n).padStart(3, "0")}`;
      return n % 2
        ? product({ id, name: `Lamp ${prefix} ${n}`, description: "Brass.", priceCents, categories: [category] })
        : product({ id, name: `Shade ${prefix} ${n}`, description: "Fits any lamp.", priceCents, categories: [category] });
    };
    const prices = [500, 1500, 1500, 1500, 2500, 2500, 900, 4000, 100, 1500, 3000];

    for (const sort of [ProductSort.RELEVANCE, ProductSort.PRICE_ASC, ProductSort.PRICE_DESC, ProductSort.NAME]) {
      it(`sorted by ${ProductSort[sort]}`, async () => {
        const category = `paging-${sort}`;
        const start = prices.map((p) => lamp(category, p, ProductSort[sort].toLowerCase()));
        await service.catalog.addProducts(start);
        const req = { q: "lamp", category, sort, pageSize: 3 };
        const before = await ids({ ...req, pageSize: 100 });
        expect(before.sort()).toEqual(start.map((p) => p.id).sort());

        const seen: string[] = [];
        const pages: string[][] = [];
        let token = "";
        let round = 0;
        do {
          const page = await list({ ...req, pageToken: token });
          pages.push(page.items.map((p) => p.id));
          seen.push(...page.items.map((p) => p.id));
          token = page.nextPageToken;
          // Between pages, products that sort anywhere: before the page just read, inside it, after it.
          round++;
          await service.catalog.addProducts([
            lamp(category, 50 * round, "a"),
            lamp(category, 2000 + round, "n"),
            lamp(category, 9000 - round, "z"),
          ]);
        } while (token !== "" && round < 50);

        expect(token).toBe("");
        expect(new Set(seen).size).toBe(seen.length);
        for (const id of start.map((p) => p.id)) expect(seen).toContain(id);
        // Some of what was added ahead of the cursor came up on later pages.
        expect(seen.filter((id) => !start.some((p) => p.id === id)).length).toBeGreaterThan(0);
        // The walk is in the order of the listing as it stands now, less what was added behind the cursor.
        const after = await ids({ ...req, pageSize: 100 });
        expect(after.filter((id) => seen.includes(id))).toEqual(seen);
        expect(pages.every((p) => p.length <= 3)).toBe(true);
      });
    }
  });

  it("answers INVALID_ARGUMENT naming each bad field", async () => {
    expect(await violatedFieldsOf(list({ q: "x".repeat(201) }))).toEqual(["q"]);
    expect(await violatedFieldsOf(list({ minPriceCents: -1, maxPriceCents: -2 }))).toEqual(["min_price_cents", "max_price_cents"]);
    expect(await violatedFieldsOf(list({ minPriceCents: 500, maxPriceCents: 100 }))).toEqual(["max_price_cents"]);
    expect(await violatedFieldsOf(list({ sort: 99 as ProductSort }))).toEqual(["sort"]);
    // A page token continues only the order it came from.
    const byPrice = await list({ sort: ProductSort.PRICE_ASC, pageSize: 1 });
    const byName = await list({ pageSize: 1 });
    expect(await violatedFieldsOf(list({ pageToken: byPrice.nextPageToken }))).toEqual(["page_token"]);
    expect(await violatedFieldsOf(list({ sort: ProductSort.PRICE_DESC, pageToken: byPrice.nextPageToken }))).toEqual(["page_token"]);
    expect(await violatedFieldsOf(list({ sort: ProductSort.PRICE_ASC, pageToken: byName.nextPageToken }))).toEqual(["page_token"]);
    // 200 characters are fine, whatever they are.
    expect((await list({ q: `"unbalanced -or ${"é".repeat(150)} :* & | ! (` })).items).toEqual([]);
    expect((await list({ q: "x".repeat(200) })).items).toEqual([]);
  });
});
