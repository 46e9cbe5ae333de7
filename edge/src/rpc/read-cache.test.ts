import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createGrpcServer, createLogger, type GrpcServer, metricsRegistry, serviceRegistration } from "@shopmesh/platform";
import { catalogHandlers, waitUntil } from "@shopmesh/platform/testing";
import { CatalogService, ProductSchema, StockLevelSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEdge, type Edge, type EdgeSettings } from "../edge.js";
import { testEdgeSettings } from "../testing/edge-settings.js";

const logger = createLogger({ level: "silent" });

/**
 * A catalog that counts the reads it answers ("ListProducts:<q>", "GetProduct:<id>"). Product
 * "p-missing" is NOT_FOUND; while `hold` is set, reads wait for it.
 */
async function startCountingCatalog() {
  const calls: string[] = [];
  let hold: Promise<void> | undefined;
  const seen = async (call: string) => {
    calls.push(call);
    await hold;
  };
  const server: GrpcServer = createGrpcServer({
    name: "catalog",
    host: "127.0.0.1",
    port: 0,
    logger,
    services: [
      serviceRegistration(
        CatalogService,
        catalogHandlers({
          async listProducts(req) {
            await seen(`ListProducts:${req.q}`);
            return { items: [create(ProductSchema, { id: "p-1", name: req.q })] };
          },
          async getProduct(req) {
            await seen(`GetProduct:${req.id}`);
            if (req.id === "p-missing") throw new ConnectError("no such product", Code.NotFound);
            return { product: create(ProductSchema, { id: req.id, name: "Cup", stock: 5 }) };
          },
          async adjustStock(req) {
            return { level: create(StockLevelSchema, { productId: req.productId, available: 5 + req.delta }) };
          },
        }),
      ),
    ],
  });
  await server.start();
  return {
    server,
    address: `127.0.0.1:${server.port}`,
    /** Reads of `call` the catalog answered. */
    count: (call: string) => calls.filter((c) => c === call).length,
    /** Makes reads wait until the returned function is called. */
    holdReads(): () => void {
      let release!: () => void;
      hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      return () => {
        hold = undefined;
        release();
      };
    },
    reset() {
      calls.length = 0;
    },
  };
}

let catalog: Awaited<ReturnType<typeof startCountingCatalog>>;
const edges: Edge[] = [];

async function startEdge(overrides: Partial<EdgeSettings> = {}): Promise<string> {
  const edge = createEdge({
    config: testEdgeSettings(overrides),
    logger,
    upstreams: { [CatalogService.typeName]: catalog.address },
    services: [CatalogService],
    webApp: false,
    apiDocs: false,
    imageStore: false,
  });
  await edge.start();
  edges.push(edge);
  return edge.url;
}

/** The status of a request, its body read. */
async function status(url: string, init?: RequestInit): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

const operator = { authorization: "Bearer operator-token" };

/** The edge's read-cache lookups of GetProduct so far with `result` (hit, shared, miss). */
async function getProductLookups(result: string): Promise<number> {
  const metric = metricsRegistry.getSingleMetric("shopmesh_edge_read_cache_lookups_total");
  const values = metric ? (await metric.get()).values : [];
  return values.filter((v) => v.labels.method === "GetProduct" && v.labels.result === result).reduce((n, v) => n + v.value, 0);
}

beforeAll(async () => {
  catalog = await startCountingCatalog();
});

beforeEach(() => catalog.reset());

afterAll(async () => {
  for (const edge of edges) await edge.stop();
  await catalog?.server.stop();
});

describe("the edge's read cache", () => {
  let base: string;
  beforeAll(async () => {
    base = await startEdge();
  });

  it("answers a second anonymous search from memory, and a different search from the catalog", async () => {
    expect(await status(`${base}/api/products?q=cup`)).toBe(200);
    expect(await status(`${base}/api/products?q=cup`)).toBe(200);
    expect(catalog.count("ListProducts:cup")).toBe(1);
    expect(await status(`${base}/api/products?q=mug`)).toBe(200);
    expect(catalog.count("ListProducts:mug")).toBe(1);
  });

  it("answers the same JSON from memory as from the catalog", async () => {
    const first = await fetch(`${base}/api/products/p-json`).then((r) => r.json());
    const second = await fetch(`${base}/api/products/p-json`).then((r) => r.json());
    expect(second).toEqual(first);
    expect(catalog.count("GetProduct:p-json")).toBe(1);
  });

  it("counts its hits and misses", async () => {
    const [hits, misses] = [await getProductLookups("hit"), await getProductLookups("miss")];
    expect(await status(`${base}/api/products/p-counted`)).toBe(200);
    expect(await status(`${base}/api/products/p-counted`)).toBe(200);
    expect(await getProductLookups("miss")).toBe(misses + 1);
    expect(await getProductLookups("hit")).toBe(hits + 1);
  });

  it("sends every read with an Authorization header to the catalog", async () => {
    expect(await status(`${base}/api/products?q=signed-in`)).toBe(200);
    expect(await status(`${base}/api/products?q=signed-in`, { headers: operator })).toBe(200);
    expect(await status(`${base}/api/products?q=signed-in`, { headers: operator })).toBe(200);
    expect(catalog.count("ListProducts:signed-in")).toBe(3);
  });

  it("reads from the catalog again after a catalog write through the edge", async () => {
    expect(await status(`${base}/api/products/p-write`)).toBe(200);
    expect(await status(`${base}/api/products/p-write`)).toBe(200);
    expect(catalog.count("GetProduct:p-write")).toBe(1);
    const adjusted = await status(`${base}/api/admin/stock/p-write/adjust`, {
      method: "POST",
      headers: { ...operator, "content-type": "application/json" },
      body: JSON.stringify({ delta: -1, reason: "broken" }),
    });
    expect(adjusted).toBe(200);
    expect(await status(`${base}/api/products/p-write`)).toBe(200);
    expect(catalog.count("GetProduct:p-write")).toBe(2);
  });

  it("makes one catalog call for concurrent identical misses", async () => {
    const release = catalog.holdReads();
    const reads = Array.from({ length: 5 }, () => status(`${base}/api/products?q=rush`));
    await waitUntil(() => catalog.count("ListProducts:rush") === 1);
    release();
    expect(await Promise.all(reads)).toEqual([200, 200, 200, 200, 200]);
    expect(catalog.count("ListProducts:rush")).toBe(1);
  });

  it("finishes a shared read for the others when the client that started it goes away", async () => {
    const release = catalog.holdReads();
    const gone = new AbortController();
    const first = fetch(`${base}/api/products?q=abandoned`, { signal: gone.signal }).catch(() => "aborted");
    await waitUntil(() => catalog.count("ListProducts:abandoned") === 1);
    const second = status(`${base}/api/products?q=abandoned`);
    gone.abort();
    expect(await first).toBe("aborted");
    release();
    expect(await second).toBe(200);
    expect(await status(`${base}/api/products?q=abandoned`)).toBe(200);
    expect(catalog.count("ListProducts:abandoned")).toBe(1);
  });

  it("keeps no error", async () => {
    expect(await status(`${base}/api/products/p-missing`)).toBe(404);
    expect(await status(`${base}/api/products/p-missing`)).toBe(404);
    expect(catalog.count("GetProduct:p-missing")).toBe(2);
  });

  it("caches the Connect protocol's calls too, sharing answers with REST", async () => {
    const client = createClient(CatalogService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" }));
    expect((await client.getProduct({ id: "p-connect" })).product?.id).toBe("p-connect");
    expect((await client.getProduct({ id: "p-connect" })).product?.id).toBe("p-connect");
    expect(await status(`${base}/api/products/p-connect`)).toBe(200);
    expect(catalog.count("GetProduct:p-connect")).toBe(1);
    await client.getProduct({ id: "p-connect" }, { headers: operator });
    expect(catalog.count("GetProduct:p-connect")).toBe(2);
  });
});

describe("the edge's read cache, configured", () => {
  it("reads from the catalog again once an answer is past twice its max age", async () => {
    const base = await startEdge({ EDGE_READ_CACHE_MAX_AGE_MS: 50 });
    expect(await status(`${base}/api/products?q=aged`)).toBe(200);
    expect(await status(`${base}/api/products?q=aged`)).toBe(200);
    expect(catalog.count("ListProducts:aged")).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await status(`${base}/api/products?q=aged`)).toBe(200);
    expect(catalog.count("ListProducts:aged")).toBe(2);
  });

  it("sends every read to the catalog when EDGE_READ_CACHE_SIZE is 0", async () => {
    const base = await startEdge({ EDGE_READ_CACHE_SIZE: 0 });
    for (let i = 0; i < 3; i++) expect(await status(`${base}/api/products?q=off`)).toBe(200);
    expect(catalog.count("ListProducts:off")).toBe(3);
  });
});
