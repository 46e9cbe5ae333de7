import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { demoCatalog } from "@shopmesh/catalog";
import { closeClient } from "@shopmesh/platform";
import { CatalogService, GetProductRequestSchema, GetProductResponseSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { createTestClient, pollUntil, waitUntil } from "@shopmesh/platform/testing";

/**
 * The whole embedded mesh (real catalog on PostgreSQL, real edge), checked through its public
 * contract: REST, Connect, gRPC-Web and gRPC on the edge port, gRPC on the catalog's own port.
 */

const env = (overrides: Record<string, string>) => ({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", ...overrides });

const first = demoCatalog[0];
if (!first) throw new Error("empty demo catalog");

/** Every product over REST, following next_page_token. */
async function listAll(url: string): Promise<Array<{ id: string; stock: number }>> {
  const out: Array<{ id: string; stock: number }> = [];
  let token = "";
  do {
    const res = await fetch(`${url}/api/products?page_size=7&page_token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: Array<{ id: string; stock: number }>; next_page_token: string };
    out.push(...page.items);
    token = page.next_page_token;
  } while (token !== "");
  return out;
}

describe("embedded mesh", () => {
  let mesh: EmbeddedMesh;

  beforeAll(async () => {
    mesh = await startEmbedded(env({ SHOPMESH_DATA_DIR: "memory" }));
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  it("binds the edge to a free port when EDGE_PORT is 0 and reports it", async () => {
    expect(mesh.edgePort).toBeGreaterThan(0);
    expect(new URL(mesh.url).port).toBe(String(mesh.edgePort));
    expect(mesh.services.catalog).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await fetch(`${mesh.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${mesh.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ok",
      services: {
        [CatalogService.typeName]: "SERVING",
        "shop.auth.v1.AuthService": "SERVING",
        "shop.cart.v1.CartService": "SERVING",
        "shop.payment.v1.PaymentService": "SERVING",
        "shop.notification.v1.NotificationService": "SERVING",
        "shop.order.v1.OrderService": "SERVING",
      },
    });
  });

  it("lists products over REST, one page at a time", async () => {
    const res = await fetch(`${mesh.url}/api/products?page_size=3`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: Array<Record<string, unknown>>; next_page_token: string };
    expect(page.items).toHaveLength(3);
    for (const item of page.items) {
      expect(item).toMatchObject({
        id: expect.any(String),
        name: expect.any(String),
        price_cents: expect.any(Number),
        stock: expect.any(Number),
      });
    }
    expect(page.next_page_token).not.toBe("");

    const next = await fetch(`${mesh.url}/api/products?page_size=3&page_token=${encodeURIComponent(page.next_page_token)}`);
    expect(next.status).toBe(200);
    const second = (await next.json()) as { items: Array<{ id: string }> };
    expect(second.items).toHaveLength(3);
    const firstIds = new Set(page.items.map((i) => i.id));
    for (const item of second.items) expect(firstIds.has(item.id)).toBe(false);

    const all = await listAll(mesh.url);
    expect(all.map((p) => p.id).sort()).toEqual(demoCatalog.map((p) => p.id).sort());
  });

  it("gets one product over REST, 404 for an unknown id, 400 naming the field for a bad page size", async () => {
    const one = await fetch(`${mesh.url}/api/products/${first.id}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ id: first.id, name: first.name, price_cents: first.priceCents });

    const missing = await fetch(`${mesh.url}/api/products/p-does-not-exist`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "not_found" });

    const bad = await fetch(`${mesh.url}/api/products?page_size=1000`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "invalid_argument", field_violations: [{ field: "page_size" }] });
  });

  it("signs a shopper up over REST and verifies the access token at the edge", async () => {
    const signup = await fetch(`${mesh.url}/api/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: " Ada@Example.com ", password: "correct horse battery", name: "Ada" }),
    });
    expect(signup.status).toBe(201);
    const tokens = (await signup.json()) as { access_token: string; refresh_token: string; user: { email: string } };
    expect(tokens.access_token).toMatch(/^ey/);
    expect(tokens.user.email).toBe("ada@example.com");

    const me = await fetch(`${mesh.url}/api/auth/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email: "ada@example.com", name: "Ada" });

    expect((await fetch(`${mesh.url}/api/auth/me`)).status).toBe(401);
    const [header, payload, signature] = tokens.access_token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
    const forged = [header, Buffer.from(JSON.stringify({ ...claims, sub: "someone-else" })).toString("base64url"), signature].join(".");
    const tampered = await fetch(`${mesh.url}/api/auth/me`, { headers: { authorization: `Bearer ${forged}` } });
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toMatchObject({ code: "unauthenticated" });

    const again = await fetch(`${mesh.url}/api/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "ada@example.com", password: "another password", name: "Ada" }),
    });
    expect(again.status).toBe(409);
  });

  it("keeps a signed-in shopper's cart over REST and sends a welcome notification", async () => {
    const signup = await fetch(`${mesh.url}/api/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "grace@example.com", password: "compiler compiler", name: "Grace" }),
    });
    const { access_token: token, user } = (await signup.json()) as { access_token: string; user: { id: string } };
    const auth = { authorization: `Bearer ${token}` };

    const added = await fetch(`${mesh.url}/api/cart/items`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ product_id: first.id, qty: 2 }),
    });
    expect(added.status).toBe(200);
    const cart = (await added.json()) as {
      items: Array<{ product_id: string; quantity: number; line_total_cents: number }>;
      total_cents: number;
    };
    expect(cart.items).toEqual([expect.objectContaining({ product_id: first.id, quantity: 2 })]);
    expect(cart.total_cents).toBe(cart.items[0]!.line_total_cents);

    expect((await fetch(`${mesh.url}/api/cart`)).status).toBe(401);
    const unknown = await fetch(`${mesh.url}/api/cart/items`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ product_id: "p-does-not-exist", qty: 1 }),
    });
    expect(unknown.status).toBe(404);
    const removed = await fetch(`${mesh.url}/api/cart/items/${first.id}`, { method: "DELETE", headers: auth });
    expect(((await removed.json()) as { items: unknown[] }).items).toEqual([]);

    let kinds: string[] = [];
    await pollUntil(
      async () => {
        const res = await fetch(`${mesh.url}/api/notifications`, { headers: auth });
        kinds = ((await res.json()) as { items: Array<{ kind: string; user_id: string }> }).items
          .filter((n) => n.user_id === user.id)
          .map((n) => n.kind);
        return kinds.length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    expect(kinds).toEqual(["welcome"]);
  });

  it("answers Connect JSON (curl-style) and gRPC-Web", async () => {
    const res = await fetch(`${mesh.url}/shop.catalog.v1.CatalogService/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: first.id }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ product: { id: first.id, name: first.name, priceCents: first.priceCents } });

    const web = createConnectClient(CatalogService, createGrpcWebTransport({ baseUrl: mesh.url, httpVersion: "1.1" }));
    expect((await web.getProduct({ id: first.id })).product?.name).toBe(first.name);
    await expect(web.getProduct({ id: "p-does-not-exist" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("answers a stock @grpc/grpc-js client on the edge port", async () => {
    const client = new grpc.Client(`127.0.0.1:${mesh.edgePort}`, grpc.credentials.createInsecure());
    const getProduct = (id: string) =>
      new Promise<ReturnType<typeof fromBinary<typeof GetProductResponseSchema>>>((resolve, reject) =>
        client.makeUnaryRequest(
          "/shop.catalog.v1.CatalogService/GetProduct",
          (m: { id: string }) => Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, m))),
          (b: Buffer) => fromBinary(GetProductResponseSchema, b),
          { id },
          (err, res) => (err || !res ? reject(err) : resolve(res)),
        ),
      );
    try {
      expect((await getProduct(first.id)).product?.name).toBe(first.name);
      await expect(getProduct("p-does-not-exist")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
    }
  });

  // Last: it stops the mesh.
  it("streams StreamStock through Connect, sees an AdjustStock made on the catalog directly, and ends when the mesh stops", async () => {
    const product = demoCatalog[1];
    if (!product) throw new Error("demo catalog too small");
    const connect = createConnectClient(CatalogService, createConnectTransport({ baseUrl: mesh.url, httpVersion: "1.1" }));
    const seen: number[] = [];
    const ended = (async () => {
      for await (const m of connect.streamStock({ productIds: [product.id] })) seen.push(m.level?.available ?? -1);
    })().then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    await waitUntil(() => seen.length === 1);
    const before = seen[0] as number;

    const catalog = createTestClient(CatalogService, mesh.services.catalog);
    try {
      const adjusted = await catalog.adjustStock({ productId: product.id, delta: -2, reason: "damaged" });
      expect(adjusted.level?.available).toBe(before - 2);
    } finally {
      closeClient(catalog);
    }
    await waitUntil(() => seen.length === 2);
    expect(seen[1]).toBe(before - 2);

    await mesh.stop();
    // UNAVAILABLE: "reconnect elsewhere".
    expect(await ended).toMatchObject({ code: Code.Unavailable });
    await expect(fetch(`${mesh.url}/healthz`)).rejects.toThrow();
  });
});

describe("embedded mesh with SHOPMESH_DATA_DIR", () => {
  let dir: string;
  let mesh: EmbeddedMesh | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shopmesh-data-"));
  });

  afterAll(async () => {
    await mesh?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the data between runs and seeds the demo catalog once", async () => {
    mesh = await startEmbedded(env({ SHOPMESH_DATA_DIR: dir }));
    const catalog = createTestClient(CatalogService, mesh.services.catalog);
    let after: number | undefined;
    try {
      const adjusted = await catalog.adjustStock({ productId: first.id, delta: -5, reason: "recount" });
      after = adjusted.level?.available;
    } finally {
      closeClient(catalog);
    }
    expect(after).toBe(first.onHand - 5);
    await mesh.stop();

    mesh = await startEmbedded(env({ SHOPMESH_DATA_DIR: dir }));
    const res = await fetch(`${mesh.url}/api/products/${first.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: first.id, stock: after });
    // Seeding again would have failed the start or added the initial stock a second time.
    const all = await listAll(mesh.url);
    expect(all).toHaveLength(demoCatalog.length);
    expect(all.find((p) => p.id === first.id)?.stock).toBe(after);
  });
});
