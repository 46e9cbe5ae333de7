import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createLogger } from "@shopmesh/platform";
import { databaseBackends, type TestDatabase } from "@shopmesh/platform/testing";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "./edge.js";

/**
 * The edge in front of the real catalog service (PGlite in memory, demo catalog seeded): the
 * validation errors the REST surface reports here are the catalog's own. The catalog is loaded
 * by name at run time: the edge package does not depend on service code (ARCHITECTURE.md).
 */

interface CatalogModule {
  createCatalogService(opts: { config: unknown; db: unknown; logger: unknown; host?: string; port?: number }): {
    start(): Promise<number>;
    stop(): Promise<void>;
  };
  readCatalogConfig(env: Record<string, string>): unknown;
  demoCatalog: ReadonlyArray<{ id: string; name: string; priceCents: number }>;
}

const catalogPackage = "@shopmesh/catalog";
const logger = createLogger({ level: "silent" });

describe("edge in front of the catalog service", () => {
  let t: TestDatabase;
  let catalog: ReturnType<CatalogModule["createCatalogService"]>;
  let demo: CatalogModule["demoCatalog"];
  let edge: Edge;

  beforeAll(async () => {
    const mod = (await import(catalogPackage)) as CatalogModule;
    demo = mod.demoCatalog;
    const pglite = databaseBackends().find((b) => b.name === "pglite");
    if (!pglite) throw new Error("no PGlite backend");
    t = await pglite.open();
    catalog = mod.createCatalogService({
      config: mod.readCatalogConfig({ DB_SCHEMA: t.schema }),
      db: t.db,
      logger,
      host: "127.0.0.1",
      port: 0,
    });
    const port = await catalog.start();
    edge = createEdge({
      config: {
        EDGE_PORT: 0,
        EDGE_HOST: "127.0.0.1",
        CORS_ORIGINS: ["*"],
        EDGE_MAX_BODY_BYTES: 1024 * 1024,
        EDGE_REQUEST_TIMEOUT_MS: 5_000,
      },
      logger,
      upstreams: { [CatalogService.typeName]: `127.0.0.1:${port}` },
    });
    await edge.start();
  });

  afterAll(async () => {
    await edge?.stop();
    await catalog?.stop();
    await t?.cleanup();
  });

  it("lists and gets products over REST", async () => {
    const list = await fetch(`${edge.url}/api/products?page_size=3`);
    expect(list.status).toBe(200);
    const body = (await list.json()) as { items: Array<Record<string, unknown>>; next_page_token: string };
    expect(body.items).toHaveLength(3);
    expect(Object.keys(body.items[0] ?? {})).toEqual(
      expect.arrayContaining(["id", "name", "price_cents", "stock", "categories", "image_url"]),
    );
    expect(body.next_page_token).not.toBe("");

    const first = demo[0];
    if (!first) throw new Error("empty demo catalog");
    const one = await fetch(`${edge.url}/api/products/${first.id}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ id: first.id, name: first.name, price_cents: first.priceCents });

    const missing = await fetch(`${edge.url}/api/products/p-does-not-exist`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "not_found" });
  });

  it("reports the catalog's validation errors as 400 naming the field", async () => {
    const size = await fetch(`${edge.url}/api/products?page_size=1000`);
    expect(size.status).toBe(400);
    expect(await size.json()).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("page_size") });
    const token = await fetch(`${edge.url}/api/products?page_token=garbage`);
    expect(token.status).toBe(400);
    expect(await token.json()).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("page_token") });
  });

  it("serves the catalog over Connect and gRPC-Web", async () => {
    const first = demo[0];
    if (!first) throw new Error("empty demo catalog");
    const connect = createClient(CatalogService, createConnectTransport({ baseUrl: edge.url, httpVersion: "1.1" }));
    expect((await connect.getProduct({ id: first.id })).product?.name).toBe(first.name);
    const web = createClient(CatalogService, createGrpcWebTransport({ baseUrl: edge.url, httpVersion: "1.1" }));
    await expect(web.getProduct({ id: "p-does-not-exist" })).rejects.toMatchObject({ code: Code.NotFound });
    expect((await fetch(`${edge.url}/readyz`)).status).toBe(200);
  });
});
