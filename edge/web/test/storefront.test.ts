import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEdge, type Edge, measureWebBundle, readEdgeConfig } from "@shopmesh/edge";
import { type EmbeddedMesh, rest, startEmbedded } from "@shopmesh/launcher";
import { closeClient, createClient, createLogger } from "@shopmesh/platform";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import type { Browser, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  artifactsDir,
  describeWithChromium,
  launchChromium,
  markDocument,
  openShopper,
  type Shopper,
  stillSameDocument,
  tabTo,
  unnamedControls,
} from "./browser.js";

/**
 * The storefront as a shopper uses it: built from this folder with Vite, served by a real edge in
 * front of the embedded mesh, driven in Chromium. A second edge instance is the one the browser
 * talks to, so a test can restart it while the services run on.
 */

let mesh: EmbeddedMesh;
let edge: Edge;
let origin: string;
let webDir: string;

const logger = createLogger({ level: "silent" });

function edgeOn(port: number): Edge {
  const s = mesh.services;
  const config = readEdgeConfig({
    EDGE_HOST: "127.0.0.1",
    EDGE_PORT: String(port),
    AUTH_ADDR: s.auth,
    CATALOG_ADDR: s.catalog,
    CART_ADDR: s.cart,
    ORDER_ADDR: s.order,
    PAYMENT_ADDR: s.payment,
    NOTIFICATION_ADDR: s.notification,
  });
  return createEdge({ config, logger, webApp: webDir, shutdownGraceMs: 1_000 });
}

beforeAll(async () => {
  webDir = await mkdtemp(join(tmpdir(), "shopmesh-web-"));
  const [started] = await Promise.all([
    startEmbedded({ ...process.env, EDGE_PORT: "0", METRICS_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" }),
    build({
      configFile: fileURLToPath(new URL("../vite.config.ts", import.meta.url)),
      build: { outDir: webDir, emptyOutDir: true },
      logLevel: "error",
    }),
  ]);
  mesh = started;
  edge = edgeOn(0);
  const port = await edge.start();
  origin = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  await edge?.stop();
  await mesh?.stop();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

async function stockOf(id: string): Promise<number> {
  const res = await rest<{ stock: number }>(origin, "GET", `/api/products/${id}`);
  return res.body.stock;
}

function connect(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${origin}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** The refresh cookie of a Set-Cookie answer, as a Cookie header value. */
function cookieOf(res: Response): string {
  const set = res.headers.get("set-cookie") ?? "";
  return set.split(";")[0] as string;
}

describe("storefront served by the edge", () => {
  it("serves the app with a strict Content-Security-Policy and no inline script", async () => {
    for (const path of ["/", "/products/p-moka-pot", "/orders/123"]) {
      const res = await fetch(`${origin}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("unsafe-eval");
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\b(?:src|href)="(?:https?:)?\/\//);
    }
    const size = measureWebBundle(webDir);
    expect(size.jsGzipBytes).toBeLessThan(250 * 1024);
    console.info(
      `storefront first page: ${size.jsGzipBytes} B of JavaScript gzipped (${size.jsBytes} B raw), ${size.cssGzipBytes} B of CSS`,
    );
  });

  it("keeps API answers and unknown files out of the app", async () => {
    expect((await fetch(`${origin}/api/nothing`)).status).toBe(404);
    expect((await fetch(`${origin}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
  });
});

describe("browser sessions: the refresh token in an HttpOnly cookie", () => {
  const session = { "x-refresh-cookie": "1" };

  it("moves the refresh token into the cookie on sign-up, refreshes and rotates from it, clears it on sign-out", async () => {
    const email = `cookie-${Date.now()}@example.com`;
    const signup = await connect("shop.auth.v1.AuthService/Signup", { email, password: "correct horse battery", name: "Cookie" }, session);
    expect(signup.status).toBe(200);
    const body = (await signup.json()) as Record<string, unknown>;
    expect(body.accessToken).toBeTruthy();
    expect(body.refreshToken).toBeUndefined();
    const set = signup.headers.get("set-cookie") ?? "";
    expect(set).toMatch(/^shopmesh_refresh=[^;]+; Path=\/shop\.auth\.v1\.AuthService\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);

    const first = cookieOf(signup);
    const refreshed = await connect("shop.auth.v1.AuthService/Refresh", {}, { ...session, cookie: first, "sec-fetch-site": "same-origin" });
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as Record<string, unknown>).accessToken).toBeTruthy();
    const second = cookieOf(refreshed);
    expect(second).not.toBe(first);

    const logout = await connect("shop.auth.v1.AuthService/Logout", {}, { ...session, cookie: second });
    expect(logout.status).toBe(200);
    expect(logout.headers.get("set-cookie")).toMatch(/^shopmesh_refresh=; .*Max-Age=0/);
    const after = await connect("shop.auth.v1.AuthService/Refresh", {}, { ...session, cookie: second });
    expect(after.status).toBe(401);
    expect(after.headers.get("set-cookie")).toMatch(/Max-Age=0/);
  });

  it("refuses cross-site session calls and marks the cookie Secure behind https", async () => {
    const email = `csrf-${Date.now()}@example.com`;
    const signup = await connect(
      "shop.auth.v1.AuthService/Signup",
      { email, password: "correct horse battery", name: "C" },
      {
        ...session,
        "x-forwarded-proto": "https",
      },
    );
    expect(signup.headers.get("set-cookie")).toMatch(/; Secure$/);
    const cookie = cookieOf(signup);
    const crossSite = await connect("shop.auth.v1.AuthService/Refresh", {}, { ...session, cookie, "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    const otherOrigin = await connect("shop.auth.v1.AuthService/Refresh", {}, { ...session, cookie, origin: "https://evil.example" });
    expect(otherOrigin.status).toBe(403);
    // Without the header the cookie is not even looked at.
    const plain = await connect("shop.auth.v1.AuthService/Refresh", {}, { cookie });
    expect(plain.status).toBe(400);
  });

  it("leaves other clients as they were: tokens in the body, no cookie", async () => {
    const res = await rest(origin, "POST", "/api/auth/signup", {
      body: { email: `plain-${Date.now()}@example.com`, password: "correct horse battery", name: "P" },
    });
    expect(res.status).toBe(201);
    expect(res.body.refresh_token).toBeTruthy();
    expect(res.headers.get("set-cookie")).toBeNull();
  });
});

describeWithChromium("storefront in Chromium", () => {
  let browser: Browser;
  const shoppers: Shopper[] = [];

  beforeAll(async () => {
    await rm(artifactsDir, { recursive: true, force: true });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    for (const s of shoppers) await s.close().catch(() => undefined);
    await browser?.close();
  });

  async function shopper(name: string): Promise<Shopper> {
    const s = await openShopper(browser, origin, name);
    shoppers.push(s);
    return s;
  }

  /** Takes a screenshot and checks every control of the page has a name. */
  async function step(s: Shopper, name: string): Promise<void> {
    expect(await unnamedControls(s.page), name).toEqual([]);
    await s.shot(name);
  }

  /** What every page must satisfy: nothing logged as an error, nothing fetched from elsewhere. */
  function expectClean(s: Shopper, allowedErrors: RegExp[] = []) {
    expect(s.errors.filter((e) => !allowedErrors.some((a) => a.test(e)))).toEqual([]);
    expect(s.foreignRequests).toEqual([]);
  }

  async function signUpWithKeyboard(page: Page, name: string, email: string): Promise<void> {
    await tabTo(page, page.getByLabel("Name"));
    await page.keyboard.type(name);
    await page.keyboard.press("Tab");
    await page.keyboard.type(email);
    await page.keyboard.press("Tab");
    await page.keyboard.type("correct horse battery");
    await page.keyboard.press("Enter");
    await page.getByText(`Signed in as ${name}`).waitFor();
  }

  async function signUp(page: Page, name: string): Promise<void> {
    await page.goto("/signup");
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Email").fill(`${name.toLowerCase().replaceAll(" ", "-")}-${Date.now()}@example.com`);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText(`Signed in as ${name}`).waitFor();
  }

  async function liveStock(page: Page): Promise<number> {
    await page.getByText("Stock update live").waitFor();
    return Number(await page.locator("#product-stock").getAttribute("data-stock"));
  }

  /** From anywhere to a filled checkout form. */
  async function goToCheckout(page: Page, card: string): Promise<void> {
    await page.getByRole("link", { name: /^Cart, / }).click();
    await page.getByRole("link", { name: "Go to checkout" }).click();
    await page.getByLabel("Card number").fill(card);
  }

  /** Submits the checkout form; resolves on the order page. */
  async function placeOrder(page: Page): Promise<void> {
    await page.getByRole("button", { name: /^Place order/ }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]+$/);
  }

  it("a new shopper signs up, buys two products with keyboard and mouse, and sees the order paid without reloading", async () => {
    const s = await shopper("purchase");
    const { page } = s;
    const [cupBefore, mokaBefore] = [await stockOf("p-espresso-cup"), await stockOf("p-moka-pot")];

    await page.goto("/");
    await page.getByRole("heading", { level: 1, name: "Coffee and tea gear" }).waitFor();
    await page.getByText("Stock levels update live").waitFor();
    await markDocument(page);
    await step(s, "products");

    // Sign up: the header link with the mouse, the form with the keyboard.
    await page.getByRole("link", { name: "Create account" }).click();
    await page.getByRole("heading", { level: 1, name: "Create an account" }).waitFor();
    await step(s, "sign-up-form");
    await signUpWithKeyboard(page, "Ada", `ada-${Date.now()}@example.com`);
    await page.getByRole("heading", { level: 1, name: "Coffee and tea gear" }).waitFor();
    await step(s, "signed-up");

    // First product with the mouse, from the grid.
    await page.getByRole("button", { name: "Add to cart – Espresso Cup" }).click();
    await page.getByRole("link", { name: "Cart, 1 item" }).waitFor();

    // Second product with the keyboard: its page, two units, Add to cart.
    await tabTo(page, page.getByRole("link", { name: "Moka Pot, 6 Cups" }));
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Moka Pot, 6 Cups" }).waitFor();
    await tabTo(page, page.getByLabel("Quantity"));
    await page.keyboard.press("Control+A");
    await page.keyboard.type("2");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.getByRole("link", { name: "Cart, 3 items" }).waitFor();
    await step(s, "product-added");

    await page.getByRole("link", { name: "Cart, 3 items" }).click();
    await page.getByRole("heading", { level: 1, name: "Your cart" }).waitFor();
    expect(await page.locator("tbody tr").count()).toBe(2);
    await step(s, "cart");

    // Checkout with the keyboard only.
    await tabTo(page, page.getByRole("link", { name: "Go to checkout" }));
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Checkout" }).waitFor();
    await tabTo(page, page.getByLabel("Card number"));
    await page.keyboard.type("4242 4242 4242 4242");
    await step(s, "checkout");
    await page.keyboard.press("Enter");

    await page.waitForURL(/\/orders\//);
    await page.locator('[data-status="Paid"]').waitFor({ timeout: 10_000 });
    const steps = await page.locator(".timeline .step-done .step-name").allTextContents();
    expect(steps).toEqual(["Placed", "Stock reserved", "Paid"]);
    await step(s, "paid");
    expect(await stillSameDocument(page)).toBe(true);
    expect(await page.getByRole("link", { name: "Cart, 0 items" }).count()).toBe(1);
    expect(await stockOf("p-espresso-cup")).toBe(cupBefore - 1);
    expect(await stockOf("p-moka-pot")).toBe(mokaBefore - 2);
    expectClean(s);
  }, 60_000);

  it("when one shopper buys, another shopper's product page shows the stock drop within a second", async () => {
    const watcher = await shopper("stock-watcher");
    const buyer = await shopper("stock-buyer");
    await watcher.page.goto("/products/p-french-press");
    const before = await liveStock(watcher.page);
    await markDocument(watcher.page);
    await watcher.shot("before");

    await signUp(buyer.page, "Grace");
    await buyer.page.goto("/products/p-french-press");
    await buyer.page.getByLabel("Quantity").fill("2");
    await buyer.page.getByRole("button", { name: "Add to cart – French Press, 1 l" }).click();
    await buyer.page.getByRole("link", { name: "Cart, 2 items" }).waitFor();

    await goToCheckout(buyer.page, "4242424242424242");
    const placedAt = Date.now();
    const seenAt = watcher.page
      .waitForFunction((n) => document.querySelector("#product-stock")?.getAttribute("data-stock") === String(n), before - 2, {
        timeout: 10_000,
        polling: 20,
      })
      .then(() => Date.now());
    await placeOrder(buyer.page);
    const latencyMs = (await seenAt) - placedAt;
    await watcher.shot("after");
    console.info(`stock drop seen by the other shopper ${latencyMs} ms after the order was submitted`);
    expect(latencyMs).toBeLessThan(1_000);
    expect(await stillSameDocument(watcher.page)).toBe(true);
    await buyer.page.locator('[data-status="Paid"]').waitFor({ timeout: 10_000 });
    expectClean(watcher);
    expectClean(buyer);
  }, 60_000);

  it("a declined card: the order page shows it cancelled with the reason, and the stock comes back", async () => {
    const s = await shopper("declined");
    const { page } = s;
    await signUp(page, "Linus");
    await page.goto("/products/p-pour-over-dripper");
    const before = await liveStock(page);
    await page.getByRole("button", { name: "Add to cart – Pour-Over Dripper" }).click();
    await page.getByRole("link", { name: "Cart, 1 item" }).waitFor();
    await goToCheckout(page, "4000 0000 0000 0002");
    await placeOrder(page);
    await page.locator('[data-status="Cancelled"]').waitFor({ timeout: 10_000 });
    expect(await page.locator(".cancel-reason").textContent()).toContain("The card was declined");
    await s.shot("cancelled");

    await page.getByRole("link", { name: "Pour-Over Dripper" }).click();
    await page.getByRole("heading", { level: 1, name: "Pour-Over Dripper" }).waitFor();
    expect(await liveStock(page)).toBe(before);
    expect(await stockOf("p-pour-over-dripper")).toBe(before);
    expectClean(s);
  }, 60_000);

  it("live stock reconnects by itself after the edge restarts", async () => {
    const s = await shopper("edge-restart");
    const { page } = s;
    await page.goto("/products/p-canister");
    const before = await liveStock(page);
    await markDocument(page);

    const port = edge.port;
    await edge.stop();
    await page.getByText("Reconnecting…").waitFor();
    await s.shot("reconnecting");
    edge = edgeOn(port);
    await edge.start();

    const catalog = createClient(CatalogService, mesh.services.catalog as string);
    try {
      await page.getByText("Stock update live").waitFor({ timeout: 10_000 });
      await catalog.adjustStock({ productId: "p-canister", delta: -3, reason: "damaged" });
    } finally {
      closeClient(catalog);
    }
    await page.waitForFunction((n) => document.querySelector("#product-stock")?.getAttribute("data-stock") === String(n), before - 3, {
      timeout: 5_000,
    });
    await s.shot("live-again");
    expect(await stillSameDocument(page)).toBe(true);
    // While the edge was down the browser logged the refused connections; nothing else.
    expectClean(s, [/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|Failed to load resource/]);
  }, 60_000);

  it("a lapsed session sends the shopper to sign in again, and the cart is still there", async () => {
    const s = await shopper("session-expired");
    const { page, context } = s;
    const email = `hedy-${Date.now()}@example.com`;
    await page.goto("/signup");
    await page.getByLabel("Name").fill("Hedy");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("Signed in as Hedy").waitFor();
    await page.goto("/products/p-travel-mug");
    await page.getByRole("button", { name: "Add to cart – Insulated Travel Mug" }).click();
    await page.getByRole("link", { name: "Cart, 1 item" }).waitFor();

    // The session ends: the refresh cookie is gone and the edge refuses the access token once.
    await context.clearCookies();
    await page.route(
      "**/shop.cart.v1.CartService/GetCart",
      (route) =>
        route.fulfill({ status: 401, contentType: "application/json", body: '{"code":"unauthenticated","message":"token expired"}' }),
      { times: 1 },
    );
    await page.getByRole("link", { name: "Cart, 1 item" }).click();
    await page.getByText("Your session has expired").waitFor();
    await s.shot("expired");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Your cart" }).waitFor();
    await page.getByRole("link", { name: "Insulated Travel Mug" }).waitFor();
    await s.shot("cart-kept");
    // The refused token and the refused refresh are the expected 401s; nothing else.
    expectClean(s, [/status of 401/]);
  }, 60_000);
});
