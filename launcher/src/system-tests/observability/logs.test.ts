import { createLogger } from "@shopmesh/platform";
import { pollUntil } from "@shopmesh/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { rest, Shopper } from "../../shopper.js";

/**
 * The log of a purchase in embedded mode, at debug level: lines that can be joined by trace id
 * and order id across the services, and none of the secrets the shopper used.
 */

const EMAIL = "grace.hopper@example.com";
const PASSWORD = "cobol-is-fine-1959";
const CARD = "4242 4242 4242 4242";
const WRONG_PASSWORD = "fortran-forever-1957";
const DECLINED_CARD = "4000 0000 0000 0002";

type Line = Record<string, unknown>;
const lines: Line[] = [];
const raw: string[] = [];

let mesh: EmbeddedMesh;
let shopper: Shopper;
/** Tokens of a login besides the signup's. */
let tokens: string[];
let orderId: string;
let declinedOrderId: string;

beforeAll(async () => {
  const logger = createLogger({
    level: "debug",
    destination: {
      write(chunk: string) {
        raw.push(chunk);
        lines.push(JSON.parse(chunk) as Line);
      },
    },
  });
  // One thread: every line goes through this test's logger (a worker thread's units log to stdout).
  mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", SHOPMESH_DATA_DIR: "memory", SHOPMESH_WORKER_THREAD: "none" }, logger);

  shopper = await Shopper.signup(mesh.url, EMAIL, PASSWORD, "Grace");
  const login = await rest(mesh.url, "POST", "/api/auth/login", { body: { email: EMAIL, password: PASSWORD } });
  expect(login.status).toBe(200);
  tokens = [login.body.access_token, login.body.refresh_token];
  const refused = await rest(mesh.url, "POST", "/api/auth/login", { body: { email: EMAIL, password: WRONG_PASSWORD } });
  expect(refused.status).toBe(401);
  const products = await shopper.call<{ items: Array<{ id: string }> }>("GET", "/api/products");
  await shopper.addItem(products.body.items[0]!.id, 1);
  orderId = (await shopper.checkout({ cardNumber: CARD })).order_id;
  expect((await shopper.waitFinal(orderId)).status).toBe("paid");
  await shopper.addItem(products.body.items[0]!.id, 1);
  declinedOrderId = (await shopper.checkout({ cardNumber: DECLINED_CARD })).order_id;
  expect((await shopper.waitFinal(declinedOrderId)).status).toBe("cancelled");
  // The welcome, order-paid and order-cancelled emails: the last consumers are done.
  await pollUntil(async () => (await shopper.notifications()).length >= 3, { timeoutMs: 5_000, intervalMs: 20 });
});

afterAll(async () => {
  await mesh?.stop();
});

describe("the log of a purchase", () => {
  it("contains none of the passwords, tokens, card numbers or email address the shopper used", () => {
    const text = raw.join("");
    const cards = [CARD, DECLINED_CARD].flatMap((c) => [c, c.replaceAll(" ", "")]);
    const secrets = [PASSWORD, WRONG_PASSWORD, shopper.token, ...tokens, ...cards, EMAIL];
    for (const secret of secrets) expect(text, secret.slice(0, 12)).not.toContain(secret);
  });

  it("has one line per RPC and per consumed event, all of the order's lines sharing its trace id", () => {
    const placed = lines.find((l) => l.msg === "rpc" && l.method === "shop.order.v1.OrderService/PlaceOrder");
    expect(placed).toMatchObject({ service: "order", code: "ok", user_id: shopper.userId, duration_ms: expect.any(Number) });
    const traceId = placed?.trace_id;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const checkout = lines.find((l) => l.msg === "http" && l.route === "POST /api/checkout");
    expect(checkout).toMatchObject({ service: "edge", status: 201, trace_id: traceId });

    const consumed = lines.filter((l) => l.msg === "event consumed" && l.order_id === orderId);
    expect(consumed.map((l) => `${l.service} ${l.type} ${l.outcome}`)).toEqual(
      expect.arrayContaining([
        "catalog shop.order.v1.OrderPlaced handled",
        "payment shop.catalog.v1.StockReserved handled",
        "order shop.payment.v1.PaymentSucceeded handled",
        "notification shop.order.v1.OrderPaid handled",
      ]),
    );
    const ofOrder = lines.filter((l) => l.order_id === orderId);
    expect(ofOrder.length).toBeGreaterThan(consumed.length);
    for (const l of ofOrder) expect(l.trace_id, `${l.service}: ${l.msg}`).toBe(traceId);
  });

  it("logs a failed RPC with its trace id, method and code, joined to the edge's line of the request", () => {
    const failed = lines.find((l) => l.msg === "rpc" && l.method === "shop.auth.v1.AuthService/Login" && l.code === "unauthenticated");
    expect(failed).toMatchObject({ service: "auth", level: "info", duration_ms: expect.any(Number) });
    expect(failed?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const request = lines.find((l) => l.msg === "http" && l.route === "POST /api/auth/login" && l.status === 401);
    expect(request).toMatchObject({ service: "edge", trace_id: failed?.trace_id });
  });

  it("logs the declined order's cancellation under its own trace id", () => {
    const consumed = lines.filter((l) => l.msg === "event consumed" && l.order_id === declinedOrderId);
    expect(consumed.map((l) => `${l.service} ${l.type} ${l.outcome}`)).toEqual(
      expect.arrayContaining(["order shop.payment.v1.PaymentFailed handled", "notification shop.order.v1.OrderCancelled handled"]),
    );
    const traces = new Set(lines.filter((l) => l.order_id === declinedOrderId).map((l) => l.trace_id));
    expect(traces.size).toBe(1);
    expect(traces.has(lines.find((l) => l.order_id === orderId)?.trace_id)).toBe(false);
  });
});
