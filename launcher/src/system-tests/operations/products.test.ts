import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { productStock, rest, Shopper } from "../../shopper.js";
import { matrixTokens } from "../security/authorization-matrix.js";

/**
 * Product management end to end in embedded mode: an operator creates, reprices and archives a
 * product through the edge's REST routes; shoppers buy it at the price of the moment, keep the
 * price their order was placed at, and cannot buy it once it is archived, while their carts
 * still show it. An image the operator uploads through the edge is a product's picture.
 */

interface ProductJson {
  readonly id: string;
  readonly price_cents: number;
  readonly stock: number;
  readonly version: string;
  readonly archived: boolean;
}

let mesh: EmbeddedMesh;
let operatorToken: string;
let shoppers = 0;

const admin = <T = ProductJson>(method: string, path: string, body: unknown) =>
  rest<T>(mesh.url, method, `/api/admin/products${path}`, { token: operatorToken, body });

const shopper = () => Shopper.signup(mesh.url, `products-${++shoppers}@example.com`);

async function listed(category: string): Promise<string[]> {
  const res = await rest<{ items: ProductJson[] }>(mesh.url, "GET", `/api/products?category=${category}&page_size=100`);
  expect(res.status).toBe(200);
  return res.body.items.map((p) => p.id);
}

beforeAll(async () => {
  mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
  operatorToken = (await matrixTokens({ services: mesh.services, tlsDir: mesh.tlsDir as string }, "products")).operator;
}, 120_000);

afterAll(async () => {
  await mesh?.stop();
});

describe("product management", () => {
  const id = "p-system-kettle";
  const fields = { name: "System Kettle", description: "", currency: "EUR", categories: ["kitchen"], image_urls: [] };

  it("sells a new product at the price of the moment; an order keeps the price it was placed at", async () => {
    const created = await admin("POST", "", { id, ...fields, price_cents: 3000, initial_stock: 10 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id, version: "1", stock: 10, archived: false });
    expect(await listed("kitchen")).toContain(id);

    const early = await shopper();
    await early.addItem(id, 1);
    const first = await early.waitFinal((await early.checkout()).order_id);
    expect(first).toMatchObject({ status: "paid", total_cents: 3000 });

    const repriced = await admin("PUT", `/${id}`, { ...fields, price_cents: 3500, expected_version: "1" });
    expect(repriced.status).toBe(200);
    expect(repriced.body).toMatchObject({ price_cents: 3500, version: "2" });
    const stale = await admin("PUT", `/${id}`, { ...fields, price_cents: 1, expected_version: "1" });
    expect(stale.status).toBe(409);

    const late = await shopper();
    await late.addItem(id, 1);
    const second = await late.waitFinal((await late.checkout()).order_id);
    expect(second).toMatchObject({ status: "paid", total_cents: 3500 });
    expect((await early.order(first.id)).items).toEqual([expect.objectContaining({ product_id: id, unit_price_cents: 3000 })]);
  });

  it("archived: no longer listed, added or checked out (409 naming it), still in the carts that hold it; its stock stays", async () => {
    const holder = await shopper();
    await holder.addItem(id, 2);
    const before = await productStock(mesh.url, id, holder.token);

    const archived = await admin("POST", `/${id}/archive`, { expected_version: "2", reason: "discontinued" });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ archived: true, version: "3" });
    expect(await listed("kitchen")).not.toContain(id);
    expect((await rest<ProductJson>(mesh.url, "GET", `/api/products/${id}`)).body).toMatchObject({ archived: true, stock: before });

    expect((await holder.cart()).items).toEqual([expect.objectContaining({ product_id: id, quantity: 2 })]);
    const refused = await holder.call<{ code: string; message: string }>("POST", "/api/checkout");
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("failed_precondition");
    expect(refused.body.message).toContain(id);
    expect((await holder.call<{ items: unknown[] }>("GET", "/api/orders")).body.items).toEqual([]);

    const other = await shopper();
    const add = await other.call<{ code: string }>("POST", "/api/cart/items", { body: { product_id: id, qty: 1 } });
    expect([add.status, add.body.code]).toEqual([409, "failed_precondition"]);
    expect(await productStock(mesh.url, id, holder.token)).toBe(before);
  });
});

describe("product images", () => {
  /** A 1×1 PNG. */
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");

  it("an uploaded image's URL is kept in a product's image_urls and serves the image", async () => {
    const uploaded = await fetch(`${mesh.url}/api/admin/images`, {
      method: "POST",
      headers: { "content-type": "image/png", authorization: `Bearer ${operatorToken}` },
      body: png,
    });
    expect(uploaded.status).toBe(201);
    const { url } = (await uploaded.json()) as { url: string };
    expect(url).toMatch(/^\/media\/[0-9a-f]{64}\.png$/);

    const id = "p-system-pictured";
    const fields = { name: "Pictured Mug", description: "", currency: "EUR", categories: ["kitchen"], price_cents: 900 };
    const created = await admin("POST", "", { id, ...fields, image_urls: [url], initial_stock: 1 });
    expect(created.status).toBe(201);
    const read = await rest<ProductJson & { image_urls: string[] }>(mesh.url, "GET", `/api/products/${id}`);
    expect(read.body.image_urls).toEqual([url]);

    const image = await fetch(`${mesh.url}${url}`);
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await image.arrayBuffer())).toEqual(png);
  });
});
