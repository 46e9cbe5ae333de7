import { demoCatalog } from "@shopmesh/catalog";
import { loadService, publicSurface } from "@shopmesh/edge";
import { uuidv7 } from "@shopmesh/platform";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { Shopper } from "../../shopper.js";
import { matrixTokens } from "../security/authorization-matrix.js";

/**
 * The REST surface against its published OpenAPI document (GET /api/openapi.json): every route
 * is called with valid and invalid requests on a real embedded mesh, and every answer's status,
 * headers and body must be described by the document and match its schemas (ajv, JSON Schema
 * 2020-12 as OpenAPI 3.1 uses). A route the document does not describe fails the call; a route it
 * describes that the tests did not call with both a successful and a refused request fails the
 * coverage check at the end.
 */

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
};
type Operation = {
  operationId: string;
  security: Array<Record<string, unknown>>;
  requestBody?: { content: Record<string, unknown> };
  parameters?: Array<{ name: string; in: string }>;
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
};

interface Reply {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
}

interface Call {
  readonly path?: Record<string, string>;
  readonly query?: string;
  /** A value sent as JSON, or a string sent as it is. */
  readonly body?: unknown;
  readonly token?: string;
  readonly headers?: Record<string, string>;
}

let mesh: EmbeddedMesh;
let doc: Doc;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
const validators = new Map<string, ValidateFunction>();
/** Route ("GET /api/orders/{id}") → statuses it answered in this file. */
const seen = new Map<string, Set<number>>();

/**
 * The validator of a schema of the document: compiled with the document's components beside it,
 * so that its `#/components/schemas/…` references resolve.
 */
function validator(key: string, schema: object | undefined): ValidateFunction {
  let v = validators.get(key);
  if (!v) {
    if (!schema) throw new Error(`the document has no schema for ${key}`);
    v = ajv.compile({ ...schema, components: doc.components });
    validators.set(key, v);
  }
  return v;
}

type Content = Record<string, { schema?: object }> | undefined;

function operationOf(route: string): Operation {
  const [verb, template] = route.split(" ") as [string, string];
  const op = doc.paths[template]?.[verb.toLowerCase()];
  if (!op) throw new Error(`${route} is not described by /api/openapi.json`);
  return op;
}

/** Calls `route` and checks the answer against the document; returns it. */
async function call(route: string, c: Call = {}): Promise<Reply> {
  const [verb, template] = route.split(" ") as [string, string];
  const op = operationOf(route);
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(c.path?.[name] ?? ""));
  const headers: Record<string, string> = { accept: "application/json", ...c.headers };
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  let body: string | undefined;
  if (c.body !== undefined) {
    body = typeof c.body === "string" ? c.body : JSON.stringify(c.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(`${mesh.url}${path}${c.query ? `?${c.query}` : ""}`, { method: verb, headers, body });
  const text = await res.text();
  const reply: Reply = { status: res.status, body: text === "" ? undefined : JSON.parse(text), headers: res.headers };

  const described = op.responses[String(reply.status)];
  expect(described, `${route} answered ${reply.status}, which the document does not list: ${text}`).toBeDefined();
  if (!described) return reply;
  for (const name of Object.keys(described.headers ?? {})) {
    expect(reply.headers.get(name), `${route} ${reply.status}: header ${name}`).not.toBeNull();
  }
  expect(res.headers.get("content-type")).toMatch(/^application\/json\b/);
  const check = validator(`${route} ${reply.status}`, (described.content as Content)?.["application/json"]?.schema);
  expect(check(reply.body) ? [] : check.errors, `${route} ${reply.status} body ${text}`).toEqual([]);
  let statuses = seen.get(route);
  if (!statuses) {
    statuses = new Set();
    seen.set(route, statuses);
  }
  statuses.add(reply.status);
  return reply;
}

/** Checks a request body the test sends as valid against the document's request schema. */
function expectValidRequestBody(route: string, body: unknown): void {
  const check = validator(`${route} request`, (operationOf(route).requestBody?.content as Content)?.["application/json"]?.schema);
  expect(check(body) ? [] : check.errors, `request body of ${route}`).toEqual([]);
}

const product = demoCatalog[0]?.id as string;
const other = demoCatalog[1]?.id as string;
let user: { token: string; refresh: string; email: string };
let operatorToken: string;
const password = "correct horse battery staple";

beforeAll(async () => {
  mesh = await startEmbedded({
    ...process.env,
    EDGE_PORT: "0",
    LOG_LEVEL: "silent",
    SHOPMESH_DATA_DIR: "memory",
    // No general limits (this file sends bursts); the credentials limit is checked at the end.
    EDGE_CLIENT_RATE: "0",
    EDGE_USER_RATE: "0",
    EDGE_CREDENTIALS_RATE_PER_MINUTE: "1",
    EDGE_CREDENTIALS_BURST: "12",
    EDGE_RATE_LIMIT_EXEMPT: "none",
    EDGE_MAX_BODY_BYTES: "65536",
  });
  const res = await fetch(`${mesh.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
  operatorToken = (await matrixTokens({ services: mesh.services, tlsDir: mesh.tlsDir as string }, "contract")).operator;
}, 120_000);

afterAll(async () => {
  await mesh?.stop();
});

describe("the REST routes against /api/openapi.json", () => {
  it("describes exactly the REST routes the contracts declare", async () => {
    const services = await Promise.all(
      [
        "shop.auth.v1.AuthService",
        "shop.catalog.v1.CatalogService",
        "shop.cart.v1.CartService",
        "shop.order.v1.OrderService",
        "shop.payment.v1.PaymentService",
        "shop.notification.v1.NotificationService",
        "shop.ops.v1.OperationsConsoleService",
      ].map((n) => loadService(n)),
    );
    const declared = publicSurface(services)
      .filter((m) => m.http)
      .map((m) => `${m.http?.method} ${m.http?.template}`)
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([template, ops]) => Object.keys(ops).map((verb) => `${verb.toUpperCase()} ${template}`))
      .sort();
    expect(documented).toEqual(declared);
    for (const route of documented) {
      const op = operationOf(route);
      const needsUser = op.security.every((s) => Object.keys(s).length > 0);
      const m = publicSurface(services).find((x) => `${x.http?.method} ${x.http?.template}` === route);
      expect(needsUser, `${route}: bearerAuth required`).toBe(m?.access === "user" || m?.access === "operator");
    }
  });

  it("accounts: sign-up, sign-in, refresh, me, sign-out and the key set answer as described", async () => {
    const email = `contract-${Date.now()}@example.com`;
    const signup = { email, password, name: "Ada" };
    expectValidRequestBody("POST /api/auth/signup", signup);
    const created = await call("POST /api/auth/signup", { body: signup });
    expect(created.status).toBe(201);
    expect((await call("POST /api/auth/signup", { body: signup })).status).toBe(409);
    const bad = await call("POST /api/auth/signup", { body: { email: "ada", password: "short", name: "Ada" } });
    expect(bad.status).toBe(400);
    expect(bad.body.field_violations.map((v: { field: string }) => v.field).sort()).toEqual(["email", "password"]);

    expectValidRequestBody("POST /api/auth/login", { email, password });
    const login = await call("POST /api/auth/login", { body: { email, password } });
    expect(login.status).toBe(200);
    expect((await call("POST /api/auth/login", { body: { email, password: "wrong password!" } })).status).toBe(401);
    user = { token: login.body.access_token, refresh: login.body.refresh_token, email };

    const refreshed = await call("POST /api/auth/refresh", { body: { refresh_token: user.refresh } });
    expect(refreshed.status).toBe(200);
    expect((await call("POST /api/auth/refresh", { body: { refresh_token: "not-a-token" } })).status).toBe(401);
    user = { ...user, token: refreshed.body.access_token, refresh: refreshed.body.refresh_token };

    expect((await call("GET /api/auth/me", { token: user.token })).status).toBe(200);
    expect((await call("GET /api/auth/me", { token: "not.a.jwt" })).status).toBe(401);
    expect((await call("GET /.well-known/jwks.json")).status).toBe(200);

    const spare = await call("POST /api/auth/login", { body: { email, password } });
    expect((await call("POST /api/auth/logout", { body: { refresh_token: spare.body.refresh_token } })).status).toBe(200);
  });

  it("catalog: products and a product answer as described", async () => {
    expect((await call("GET /api/products", { query: "page_size=2" })).status).toBe(200);
    expect((await call("GET /api/products", { query: "page_size=two" })).status).toBe(400);
    // A search by the REST names of the issue: a prefix of a word, a category, a price range, an order.
    const found = await call("GET /api/products", {
      query: "q=espresso%20cu&category=coffee&min_price=1000&max_price=2000&sort=price_asc",
    });
    expect(found.status).toBe(200);
    expect(found.body.items.map((p: { id: string }) => p.id)).toContain("p-espresso-cup");
    const prices = found.body.items.map((p: { price_cents: number }) => p.price_cents);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    expect(prices.every((c: number) => c >= 1000 && c <= 2000)).toBe(true);
    expect((await call("GET /api/products", { query: "q=cup&sort=cheapest" })).status).toBe(400);
    const inverted = await call("GET /api/products", { query: "min_price=500&max_price=100" });
    expect(inverted.status).toBe(400);
    expect(inverted.body.field_violations).toEqual([expect.objectContaining({ field: "max_price_cents" })]);
    expect((await call("GET /api/products/{id}", { path: { id: product } })).status).toBe(200);
    expect((await call("GET /api/products/{id}", { path: { id: "p-no-such-product" } })).status).toBe(404);
  });

  it("cart: add, update, remove and clear answer as described", async () => {
    const add = { product_id: product, qty: 2 };
    expectValidRequestBody("POST /api/cart/items", add);
    expect((await call("POST /api/cart/items", { token: user.token, body: add })).status).toBe(200);
    expect((await call("POST /api/cart/items", { token: user.token, body: { product_id: product, qty: 0 } })).status).toBe(400);
    expect((await call("POST /api/cart/items", { token: user.token, body: { product_id: other, qty: 1 } })).status).toBe(200);
    expectValidRequestBody("PATCH /api/cart/items/{product_id}", { qty: 3 });
    expect(
      (await call("PATCH /api/cart/items/{product_id}", { token: user.token, path: { product_id: product }, body: { qty: 3 } })).status,
    ).toBe(200);
    expect(
      (await call("PATCH /api/cart/items/{product_id}", { token: user.token, path: { product_id: product }, body: { qty: "many" } }))
        .status,
    ).toBe(400);
    expect((await call("DELETE /api/cart/items/{product_id}", { token: user.token, path: { product_id: other } })).status).toBe(200);
    expect((await call("GET /api/cart", { token: user.token })).status).toBe(200);
    expect((await call("DELETE /api/cart", { token: user.token })).status).toBe(200);
  });

  it("checkout and orders answer as described", async () => {
    expect((await call("POST /api/checkout", { token: user.token })).status).toBe(409); // the cart is empty
    await call("POST /api/cart/items", { token: user.token, body: { product_id: product, qty: 1 } });
    const declined = { payment: { card_number: "4000 0000 0000 0002" } };
    expectValidRequestBody("POST /api/checkout", declined);
    const placed = await call("POST /api/checkout", {
      token: user.token,
      body: declined,
      headers: { "idempotency-key": `k-${Date.now()}` },
    });
    expect(placed.status).toBe(201);
    expect((await call("POST /api/checkout", { token: user.token, body: { payment: { card_number: "1234" } } })).status).toBe(400);
    // The order goes on to cancelled (declined); any status it is in must match the document.
    expect((await call("GET /api/orders/{id}", { token: user.token, path: { id: placed.body.order_id } })).status).toBe(200);
    expect((await call("GET /api/orders/{id}", { token: user.token, path: { id: "00000000-0000-4000-8000-000000000000" } })).status).toBe(
      404,
    );
    expect((await call("GET /api/orders", { token: user.token, query: "page_size=5" })).status).toBe(200);
    expect((await call("GET /api/notifications", { token: user.token })).status).toBe(200);
  });

  it("operator routes: stock books are listed and a product's stock adjusted as described", async () => {
    const listed = await call("GET /api/admin/stock", { token: operatorToken, query: "page_size=5" });
    expect(listed.status).toBe(200);
    expect(listed.body.items.length).toBeGreaterThan(0);
    expect((await call("GET /api/admin/stock", { token: user.token })).status).toBe(403);
    expect((await call("GET /api/admin/stock", {})).status).toBe(401);
    const path = { product_id: other };
    const body = { delta: 3, reason: "received" };
    expectValidRequestBody("POST /api/admin/stock/{product_id}/adjust", body);
    const adjusted = await call("POST /api/admin/stock/{product_id}/adjust", { token: operatorToken, path, body });
    expect(adjusted.status).toBe(200);
    expect(adjusted.body.level.product_id).toBe(other);
    expect(
      (await call("POST /api/admin/stock/{product_id}/adjust", { token: operatorToken, path, body: { delta: 0, reason: "x" } })).status,
    ).toBe(400);
    expect((await call("POST /api/admin/stock/{product_id}/adjust", { token: user.token, path, body })).status).toBe(403);
    expect((await call("POST /api/admin/stock/{product_id}/adjust", { path, body })).status).toBe(401);
    const back = await call("POST /api/admin/stock/{product_id}/adjust", {
      token: operatorToken,
      path,
      body: { delta: -3, reason: "recount" },
    });
    expect(back.status).toBe(200);
  });

  it("operator routes: a product is created, updated and archived as described", async () => {
    const id = `p-contract-${Date.now()}`;
    const create = {
      id,
      name: "Contract Kettle",
      description: "Made by the contract test.",
      price_cents: 3900,
      currency: "EUR",
      categories: ["kitchen"],
      image_urls: ["/images/p-gooseneck-kettle.svg"],
      initial_stock: 5,
    };
    expectValidRequestBody("POST /api/admin/products", create);
    const created = await call("POST /api/admin/products", { token: operatorToken, body: create });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id, price_cents: 3900, version: "1", archived: false, stock: 5 });
    expect((await call("POST /api/admin/products", { token: operatorToken, body: create })).status).toBe(409);
    const bad = await call("POST /api/admin/products", { token: operatorToken, body: { ...create, id: "bad id", price_cents: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.body.field_violations.map((v: { field: string }) => v.field)).toEqual(["id", "price_cents"]);
    expect((await call("POST /api/admin/products", { token: user.token, body: create })).status).toBe(403);

    const path = { id };
    const { id: _, initial_stock: __, ...fields } = create;
    const update = { ...fields, price_cents: 4200, expected_version: "1" };
    expectValidRequestBody("PUT /api/admin/products/{id}", update);
    const updated = await call("PUT /api/admin/products/{id}", { token: operatorToken, path, body: update });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ price_cents: 4200, version: "2" });
    expect((await call("PUT /api/admin/products/{id}", { token: operatorToken, path, body: update })).status).toBe(409); // stale
    expect((await call("PUT /api/admin/products/{id}", { token: operatorToken, path: { id: "p-no-such" }, body: update })).status).toBe(
      404,
    );
    expect((await call("PUT /api/admin/products/{id}", { token: user.token, path, body: update })).status).toBe(403);

    const prices = "GET /api/admin/products/{product_id}/prices";
    const history = await call(prices, { token: operatorToken, path: { product_id: id }, query: "page_size=1" });
    expect(history.status).toBe(200);
    expect(history.body.items).toEqual([
      expect.objectContaining({ product_id: id, old_price_cents: 3900, new_price_cents: 4200, currency: "EUR", version: "2" }),
    ]);
    const rest = await call(prices, {
      token: operatorToken,
      path: { product_id: id },
      query: `page_token=${history.body.next_page_token}`,
    });
    expect(rest.body.items).toEqual([expect.objectContaining({ new_price_cents: 3900, version: "1" })]);
    expect((await call(prices, { token: operatorToken, path: { product_id: "p-no-such" } })).status).toBe(404);
    expect((await call(prices, { token: operatorToken, path: { product_id: id }, query: "page_size=101" })).status).toBe(400);
    expect((await call(prices, { token: user.token, path: { product_id: id } })).status).toBe(403);

    const archive = { expected_version: "2", reason: "discontinued" };
    expectValidRequestBody("POST /api/admin/products/{id}/archive", archive);
    expect((await call("POST /api/admin/products/{id}/archive", { token: user.token, path, body: archive })).status).toBe(403);
    const stale = { ...archive, expected_version: "1" };
    expect((await call("POST /api/admin/products/{id}/archive", { token: operatorToken, path, body: stale })).status).toBe(409);
    const archived = await call("POST /api/admin/products/{id}/archive", { token: operatorToken, path, body: archive });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ id, archived: true, version: "3" });
    expect((await call("GET /api/products/{id}", { path })).body).toMatchObject({ id, archived: true });
    const listed = await call("GET /api/products", { query: "category=kitchen&page_size=100" });
    expect(listed.body.items.map((p: { id: string }) => p.id)).not.toContain(id);
    // An operator may ask for archived products too; nobody else.
    const archivedToo = await call("GET /api/products", {
      token: operatorToken,
      query: "category=kitchen&page_size=100&include_archived=true",
    });
    expect(archivedToo.status).toBe(200);
    expect(archivedToo.body.items).toContainEqual(expect.objectContaining({ id, archived: true }));
    expect((await call("GET /api/products", { token: user.token, query: "include_archived=true" })).status).toBe(403);
    expect((await call("GET /api/products", { query: "include_archived=true" })).status).toBe(401);
  });

  it("operator routes: an order and its refund answer as described", async () => {
    const shopper = await Shopper.signup(mesh.url, `contract-refund-${Date.now()}@example.com`);
    await shopper.addItem(other, 2);
    const placed = await shopper.checkout();
    expect((await shopper.waitFinal(placed.order_id)).status).toBe("paid");
    const path = { order_id: placed.order_id };
    expect((await call("GET /api/admin/orders/{order_id}", { token: operatorToken, path })).status).toBe(200);
    expect((await call("GET /api/admin/orders/{order_id}", { token: shopper.token, path })).status).toBe(403);
    const unknown = { order_id: "00000000-0000-4000-8000-000000000000" };
    expect((await call("GET /api/admin/orders/{order_id}", { token: operatorToken, path: unknown })).status).toBe(404);
    const body = { lines: [{ product_id: other, qty: 1 }], restock: true, reason: "returned" };
    expectValidRequestBody("POST /api/admin/orders/{order_id}/refund", body);
    expect(
      (await call("POST /api/admin/orders/{order_id}/refund", { token: operatorToken, path, body: { ...body, reason: "" } })).status,
    ).toBe(400);
    expect((await call("POST /api/admin/orders/{order_id}/refund", { token: shopper.token, path, body })).status).toBe(403);
    expect((await call("POST /api/admin/orders/{order_id}/refund", { token: operatorToken, path, body })).status).toBe(200);
    // One unit left, whether the first refund is done or on its way.
    const tooMany = { ...body, lines: [{ product_id: other, qty: 2 }] };
    expect((await call("POST /api/admin/orders/{order_id}/refund", { token: operatorToken, path, body: tooMany })).status).toBe(400);
    expect((await call("POST /api/admin/orders/{order_id}/refund", { token: operatorToken, path, body })).status).toBe(200);
    await expect
      .poll(async () => (await call("GET /api/admin/orders/{order_id}", { token: operatorToken, path })).body.status, { timeout: 10_000 })
      .toBe("refunded");
  });

  it("operator routes: orders by status and email, a cancel, an order's notifications and a product's adjustments answer as described", async () => {
    const shopper = await Shopper.signup(mesh.url, `contract-cancel-${Date.now()}@example.com`);
    await shopper.addItem(other, 1);
    const paid = (await shopper.checkout()).order_id;
    expect((await shopper.waitFinal(paid)).status).toBe("paid");
    await shopper.addItem(other, 1);
    const declined = (await shopper.checkout({ cardNumber: "4000 0000 0000 0002" })).order_id;
    expect((await shopper.waitFinal(declined)).status).toBe("cancelled");

    const email = encodeURIComponent(shopper.email.toUpperCase());
    const listed = await call("GET /api/admin/orders", { token: operatorToken, query: `status=paid&email=${email}&page_size=5` });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((o: { id: string }) => o.id)).toEqual([paid]);
    expect((await call("GET /api/admin/orders", { token: operatorToken, query: "status=shipped" })).status).toBe(400);
    expect((await call("GET /api/admin/orders", { token: user.token, query: "status=paid" })).status).toBe(403);
    expect((await call("GET /api/admin/orders", {})).status).toBe(401);

    const route = "POST /api/admin/orders/{order_id}/cancel";
    const body = { reason: "shopper asked" };
    expectValidRequestBody(route, body);
    // Cancelling a cancelled order answers with it as it is.
    const cancelled = await call(route, { token: operatorToken, path: { order_id: declined }, body });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: declined, status: "cancelled", cancel_reason: "payment_declined" });
    expect((await call(route, { token: operatorToken, path: { order_id: paid }, body })).status).toBe(409);
    expect((await call(route, { token: operatorToken, path: { order_id: paid }, body: { reason: "" } })).status).toBe(400);
    const unknown = { order_id: "00000000-0000-4000-8000-000000000000" };
    expect((await call(route, { token: operatorToken, path: unknown, body })).status).toBe(404);
    expect((await call(route, { token: shopper.token, path: { order_id: paid }, body })).status).toBe(403);

    const notes = "GET /api/admin/orders/{order_id}/notifications";
    await expect
      .poll(async () => (await call(notes, { token: operatorToken, path: { order_id: paid } })).body.items.length, { timeout: 10_000 })
      .toBe(1);
    expect((await call(notes, { token: shopper.token, path: { order_id: paid } })).status).toBe(403);

    const adjustments = "GET /api/admin/stock/{product_id}/adjustments";
    const page = await call(adjustments, { token: operatorToken, path: { product_id: other }, query: "page_size=1" });
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(1);
    expect((await call(adjustments, { token: operatorToken, path: { product_id: other }, query: "page_token=nope!" })).status).toBe(400);
    expect((await call(adjustments, { token: user.token, path: { product_id: other } })).status).toBe(403);
  });

  it("the chaos panel lists and switches a service's faults as described", async () => {
    const listed = await call("GET /api/admin/chaos", { token: operatorToken });
    expect(listed.status).toBe(200);
    expect(listed.body.services.map((s: { service: string }) => s.service)).toContain("payment");
    expect((await call("GET /api/admin/chaos", { token: user.token })).status).toBe(403);
    expect((await call("GET /api/admin/chaos", {})).status).toBe(401);
    const route = "POST /api/admin/chaos/{service}";
    const path = { service: "notification" };
    const body = {
      faults: { calls: "delay=10ms;rate=0.5", events: { "shop.auth.v1.UserRegistered": "code=UNAVAILABLE" } },
      reason: "drill",
    };
    expectValidRequestBody(route, body);
    const set = await call(route, { token: operatorToken, path, body });
    expect(set.status).toBe(200);
    expect(set.body.service_faults).toMatchObject({ service: "notification", faults: body.faults, switchable: true });
    expect((await call(route, { token: operatorToken, path, body: { faults: { calls: "code=NOPE" }, reason: "x" } })).status).toBe(400);
    expect((await call(route, { token: operatorToken, path: { service: "nowhere" }, body })).status).toBe(400);
    expect((await call(route, { token: user.token, path, body })).status).toBe(403);
    const off = await call(route, { token: operatorToken, path, body: { faults: {}, reason: "drill over" } });
    expect(off.status).toBe(200);
    expect(off.body.service_faults.faults).toEqual({ calls: "", events: {}, provider: "", broker: "" });
    // Payment's provider only: another service refuses it.
    const provider = { faults: { provider: "decline;rate=0.2" }, reason: "decline drill" };
    expectValidRequestBody(route, provider);
    expect((await call(route, { token: operatorToken, path, body: provider })).status).toBe(400);
    const declines = await call(route, { token: operatorToken, path: { service: "payment" }, body: provider });
    expect(declines.status).toBe(200);
    expect(declines.body.service_faults.faults.provider).toBe("decline;rate=0.2");
    const back = await call(route, { token: operatorToken, path: { service: "payment" }, body: { faults: {}, reason: "drill over" } });
    expect(back.status).toBe(200);
  });

  it("the invariants answer as described", async () => {
    const route = "GET /api/admin/invariants";
    const checked = await call(route, { token: operatorToken });
    expect(checked.status).toBe(200);
    expect(checked.body).toMatchObject({ holds: expect.any(Boolean), stuck_orders: 0 });
    expect(typeof checked.body.orders).toBe("object");
    expect((await call(route, { token: user.token })).status).toBe(403);
    expect((await call(route, {})).status).toBe(401);
  });

  it("the operations console answers as described", async () => {
    const operator = operatorToken;
    // Two events notification's consumer cannot decode: dead-lettered once the bus has delivered them.
    const poison = () => ({
      id: uuidv7(),
      type: "shop.auth.v1.UserRegistered",
      source: "auth",
      time: new Date(),
      key: "u-poison",
      payload: new Uint8Array([0xff, 0xff]),
    });
    const [first, second] = [poison(), poison()];
    await mesh.bus.publish([first, second]);
    const listed = await call("GET /api/admin/dead-letters", { token: operator, query: "page_size=50" });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((l: { id: string }) => l.id)).toEqual(
      expect.arrayContaining([`notification:${first.id}`, `notification:${second.id}`]),
    );
    expect((await call("GET /api/admin/dead-letters", { token: user.token })).status).toBe(403);
    expect((await call("GET /api/admin/events", { token: operator })).status).toBe(200);
    expect((await call("GET /api/admin/events", { token: user.token })).status).toBe(403);
    const replay = "POST /api/admin/dead-letters/{id}/replay";
    const discard = "POST /api/admin/dead-letters/{id}/discard";
    expectValidRequestBody(replay, { reason: "consumer fixed" });
    // Still undecodable: replayed, and dead again.
    expect(
      (await call(replay, { token: operator, path: { id: `notification:${first.id}` }, body: { reason: "consumer fixed" } })).status,
    ).toBe(200);
    expect((await call(replay, { token: user.token, path: { id: `notification:${first.id}` }, body: { reason: "mine" } })).status).toBe(
      403,
    );
    expect((await call(replay, { token: operator, path: { id: "nowhere:1" }, body: { reason: "x" } })).status).toBe(404);
    expect(
      (await call(discard, { token: operator, path: { id: `notification:${second.id}` }, body: { reason: "bad bytes" } })).status,
    ).toBe(200);
    expect((await call(discard, { token: operator, path: { id: `notification:${second.id}` }, body: { reason: "again" } })).status).toBe(
      409,
    );
    const replayAll = "POST /api/admin/dead-letters/replay-all";
    const discardAll = "POST /api/admin/dead-letters/discard-all";
    expectValidRequestBody(replayAll, { service: "notification", event_type: "shop.auth.v1.UserRegistered", reason: "retry" });
    expect((await call(replayAll, { token: operator, body: { service: "notification", reason: "retry" } })).status).toBe(200);
    expect((await call(replayAll, { token: user.token, body: { reason: "retry" } })).status).toBe(403);
    expect((await call(discardAll, { token: operator, body: { reason: "" } })).status).toBe(400);
    const cleared = await call(discardAll, { token: operator, body: { reason: "undecodable" } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.items.map((l: { id: string }) => l.id)).toContain(`notification:${first.id}`);
    expect((await call("GET /api/admin/audit", { token: operator })).status).toBe(200);
    expect((await call("GET /api/admin/audit", { token: user.token })).status).toBe(403);
  });

  it("every route refuses an unknown parameter or body field (400), and routes for users refuse a call without a token (401)", async () => {
    for (const route of Object.entries(doc.paths).flatMap(([t, ops]) => Object.keys(ops).map((v) => `${v.toUpperCase()} ${t}`))) {
      const op = operationOf(route);
      const path = Object.fromEntries((op.parameters ?? []).filter((p) => p.in === "path").map((p) => [p.name, product]));
      const unknown = op.requestBody ? { body: { no_such_field: 1 } } : { query: "no_such_parameter=1" };
      const token = route.includes(" /api/admin/") ? operatorToken : user.token;
      const refused = await call(route, { token, path, ...unknown });
      expect(refused.status, route).toBe(400);
      expect(refused.body.code).toBe("invalid_argument");
      if (op.security.every((s) => Object.keys(s).length > 0)) {
        expect((await call(route, { path, ...(op.requestBody ? { body: {} } : {}) })).status, route).toBe(401);
      }
    }
  });

  it("routes with a body refuse one that is too large (413) or not JSON (415)", async () => {
    expect((await call("POST /api/cart/items", { token: user.token, body: "x".repeat(70_000) })).status).toBe(413);
    expect(
      (await call("POST /api/cart/items", { token: user.token, body: "qty=1", headers: { "content-type": "text/plain" } })).status,
    ).toBe(415);
  });

  it("the credentials limit answers 429 with Retry-After as described", async () => {
    let last: Reply | undefined;
    for (let i = 0; i < 20; i++) {
      last = await call("POST /api/auth/login", { body: { email: user.email, password: "wrong password!" } });
      if (last.status === 429) break;
    }
    expect(last?.status).toBe(429);
    expect(Number(last?.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("covers every route: each answered a success and a refusal that the document describes", () => {
    const missing: string[] = [];
    for (const [template, ops] of Object.entries(doc.paths)) {
      for (const verb of Object.keys(ops)) {
        const route = `${verb.toUpperCase()} ${template}`;
        const statuses = [...(seen.get(route) ?? [])];
        if (!statuses.some((s) => s >= 200 && s < 300)) missing.push(`${route}: no successful call`);
        if (!statuses.some((s) => s >= 400 && s < 500)) missing.push(`${route}: no refused call`);
      }
    }
    expect(missing).toEqual([]);
  });
});
