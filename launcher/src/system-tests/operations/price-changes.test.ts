import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { rest, Shopper } from "../../shopper.js";
import { matrixTokens } from "../security/authorization-matrix.js";

/**
 * Price changes end to end in embedded mode: an operator reprices a product through the edge's
 * REST routes; carts holding it show the new price with the old one as a notice, an order placed
 * before keeps its price, and a checkout never charges a price its shopper was not shown; the
 * product's price history lists each price an operator set.
 */

interface ProductJson {
  readonly price_cents: number;
  readonly version: string;
}

interface PriceChangeJson {
  readonly old_price_cents?: number;
  readonly new_price_cents: number;
  readonly currency: string;
  readonly version: string;
  readonly changed_at: string;
  readonly changed_by: string;
}

interface CartJson {
  readonly items: Array<{ product_id: string; quantity: number; unit_price_cents: number; price_changed_from_cents?: number }>;
  readonly total_cents: number;
}

let mesh: EmbeddedMesh;
let operatorToken: string;
let shoppers = 0;

const fields = { name: "Repriced Lamp", description: "", currency: "EUR", categories: ["lighting"], image_urls: [] };

const admin = (method: string, path: string, body: unknown) =>
  rest<ProductJson>(mesh.url, method, `/api/admin/products${path}`, { token: operatorToken, body });

const shopper = () => Shopper.signup(mesh.url, `prices-${++shoppers}@example.com`);

const cartOf = async (s: Shopper) => (await s.call<CartJson>("GET", "/api/cart")).body;

beforeAll(async () => {
  mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
  operatorToken = (await matrixTokens({ services: mesh.services, tlsDir: mesh.tlsDir as string }, "prices")).operator;
}, 120_000);

afterAll(async () => {
  await mesh?.stop();
});

describe("price changes", () => {
  it("a cart shows the new price with the old one as a notice; checkout refuses once, then charges the price shown; an earlier order keeps its price", async () => {
    const id = "p-system-lamp";
    expect((await admin("POST", "", { id, ...fields, price_cents: 3000, initial_stock: 50 })).status).toBe(201);

    const early = await shopper();
    await early.addItem(id, 1);
    const first = await early.waitFinal((await early.checkout()).order_id);
    expect(first).toMatchObject({ status: "paid", total_cents: 3000 });

    const holder = await shopper();
    await holder.addItem(id, 2);
    expect((await cartOf(holder)).items).toEqual([expect.objectContaining({ product_id: id, unit_price_cents: 3000 })]);

    expect((await admin("PUT", `/${id}`, { ...fields, price_cents: 3500, expected_version: "1" })).status).toBe(200);

    // Shown 3000, now 3500: refused, naming the product.
    const refused = await holder.call<{ code: string; message: string }>("POST", "/api/checkout");
    expect([refused.status, refused.body.code]).toEqual([409, "failed_precondition"]);
    expect(refused.body.message).toContain(id);
    expect((await holder.call<{ items: unknown[] }>("GET", "/api/orders")).body.items).toEqual([]);

    const cart = await cartOf(holder);
    expect(cart.items).toEqual([
      expect.objectContaining({ product_id: id, quantity: 2, unit_price_cents: 3500, price_changed_from_cents: 3000 }),
    ]);
    expect(cart.total_cents).toBe(7000);

    // Now shown 3500: charged 3500.
    const second = await holder.waitFinal((await holder.checkout()).order_id);
    expect(second).toMatchObject({ status: "paid", total_cents: 7000 });
    expect((await early.order(first.id)).items).toEqual([expect.objectContaining({ product_id: id, unit_price_cents: 3000 })]);
    expect((await early.order(first.id)).total_cents).toBe(3000);
  });

  it("a checkout racing a price change charges the price shown or is refused, never the new price", async () => {
    const id = "p-system-race";
    expect((await admin("POST", "", { id, ...fields, price_cents: 1000, initial_stock: 500 })).status).toBe(201);
    let version = 1;
    let price = 1000;
    const outcomes = { charged: 0, refused: 0 };
    for (let round = 0; round < 8; round++) {
      const s = await shopper();
      await s.addItem(id, 1);
      const shown = (await cartOf(s)).items[0]?.unit_price_cents;
      expect(shown).toBe(price);
      const next = price + 100;
      const [repriced, checkout] = await Promise.all([
        admin("PUT", `/${id}`, { ...fields, price_cents: next, expected_version: String(version) }),
        s.call<{ order_id: string; code: string; message: string }>("POST", "/api/checkout"),
      ]);
      expect(repriced.status).toBe(200);
      version++;
      price = next;
      if (checkout.status === 201) {
        outcomes.charged++;
        expect((await s.order(checkout.body.order_id)).total_cents).toBe(shown);
      } else {
        outcomes.refused++;
        expect([checkout.status, checkout.body.code]).toEqual([409, "failed_precondition"]);
        expect(checkout.body.message).toContain(id);
        expect((await cartOf(s)).items).toEqual([
          expect.objectContaining({ product_id: id, unit_price_cents: next, price_changed_from_cents: shown }),
        ]);
      }
    }
    expect(outcomes.charged + outcomes.refused).toBe(8);
  });

  it("an operator reads a product's price history through the edge, newest first and in pages; a shopper is refused", async () => {
    const id = "p-system-history";
    expect((await admin("POST", "", { id, ...fields, price_cents: 2000, initial_stock: 5 })).status).toBe(201);
    expect((await admin("PUT", `/${id}`, { ...fields, price_cents: 2200, expected_version: "1" })).status).toBe(200);
    // A change of other fields only is no price change.
    expect((await admin("PUT", `/${id}`, { ...fields, name: "Renamed Lamp", price_cents: 2200, expected_version: "2" })).status).toBe(200);
    expect((await admin("PUT", `/${id}`, { ...fields, price_cents: 1900, expected_version: "3" })).status).toBe(200);

    const history: PriceChangeJson[] = [];
    let token = "";
    do {
      const page = await rest<{ items: PriceChangeJson[]; next_page_token: string }>(
        mesh.url,
        "GET",
        `/api/admin/products/${id}/prices?page_size=2${token ? `&page_token=${token}` : ""}`,
        { token: operatorToken },
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      history.push(...page.body.items);
      token = page.body.next_page_token;
    } while (token);
    expect(history.map((c) => [c.old_price_cents ?? 0, c.new_price_cents, c.currency, c.version])).toEqual([
      [2200, 1900, "EUR", "4"],
      [2000, 2200, "EUR", "2"],
      [0, 2000, "EUR", "1"],
    ]);
    const operatorId = history[0]?.changed_by;
    expect(operatorId).toMatch(/.+/);
    expect(history.every((c) => c.changed_by === operatorId && !Number.isNaN(Date.parse(c.changed_at)))).toBe(true);
    expect(Date.parse(history[0]?.changed_at ?? "")).toBeGreaterThanOrEqual(Date.parse(history[2]?.changed_at ?? ""));

    const s = await shopper();
    const refused = await s.call<{ code: string }>("GET", `/api/admin/products/${id}/prices`);
    expect([refused.status, refused.body.code]).toEqual([403, "permission_denied"]);
    const unknown = await rest(mesh.url, "GET", "/api/admin/products/p-no-such-lamp/prices", { token: operatorToken });
    expect(unknown.status).toBe(404);
  });
});
