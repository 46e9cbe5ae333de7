import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEdge, type Edge, readEdgeConfig } from "@shopmesh/edge";
import { type EmbeddedMesh, startEmbedded } from "@shopmesh/launcher";
import { closeClient, createClient, createLogger, createMeshTls } from "@shopmesh/platform";
import { create, toBinary } from "@bufbuild/protobuf";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { ListFaultsResponseSchema } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import type { Browser, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import {
  describeWithChromium,
  launchChromium,
  lowContrastText,
  markDocument,
  openShopper,
  type Shopper,
  stillSameDocument,
  unnamedControls,
} from "./browser.js";

/**
 * The operations console (/admin) as an operator uses it, next to a shopper's storefront: built
 * from this folder with Vite, served by a real edge in front of the embedded mesh, driven in
 * Chromium. The operator account is made as `npm run operator -- create` makes it: auth's
 * CreateOperator, called with the operator command's workload identity.
 */
let mesh: EmbeddedMesh;
let edge: Edge;
let origin: string;
let webDir: string;
const operator = { email: `ops-${Date.now()}@example.com`, password: "a long operator passphrase" };

beforeAll(async () => {
  webDir = await mkdtemp(join(tmpdir(), "shopmesh-console-"));
  const [started] = await Promise.all([
    startEmbedded({ ...process.env, EDGE_PORT: "0", METRICS_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" }),
    build({
      configFile: fileURLToPath(new URL("../vite.config.ts", import.meta.url)),
      build: { outDir: webDir, emptyOutDir: true },
      logLevel: "error",
    }),
  ]);
  mesh = started;
  const s = mesh.services;
  const config = readEdgeConfig({
    EDGE_HOST: "127.0.0.1",
    EDGE_PORT: "0",
    AUTH_ADDR: s.auth,
    CATALOG_ADDR: s.catalog,
    CART_ADDR: s.cart,
    ORDER_ADDR: s.order,
    PAYMENT_ADDR: s.payment,
    NOTIFICATION_ADDR: s.notification,
    EDGE_RATE_LIMIT_EXEMPT: "127.0.0.1,::1",
    ...(mesh.tlsDir ? { SHOPMESH_TLS_DIR: mesh.tlsDir } : {}),
  });
  edge = createEdge({ config, logger: createLogger({ level: "silent" }), webApp: webDir, shutdownGraceMs: 1_000 });
  origin = `http://127.0.0.1:${await edge.start()}`;

  const auth = createClient(AuthService, s.auth as string, {
    ...(mesh.tlsDir ? { tls: createMeshTls({ dir: mesh.tlsDir, workload: "operator-cli" }) } : {}),
    maxAttempts: 1,
  });
  try {
    const { user } = await auth.createOperator({ ...operator, name: "Olga Ops" });
    if (user?.operator !== true) throw new Error("CreateOperator did not make an operator");
  } finally {
    closeClient(auth);
  }
}, 120_000);

afterAll(async () => {
  await edge?.stop();
  await mesh?.stop();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

it("serves the console and its deep links as the app", async () => {
  for (const path of [
    "/admin",
    "/admin/orders/00000000-0000-0000-0000-000000000000",
    "/admin/products",
    "/admin/products/p-moka-pot",
    "/admin/new-product",
    "/admin/stock",
    "/admin/stock/p-moka-pot",
    "/admin/events",
    "/admin/chaos",
    "/admin/audit",
  ]) {
    const res = await fetch(`${origin}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  }
});

describeWithChromium("operations console in Chromium", () => {
  let browser: Browser;
  const windows: Shopper[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    for (const w of windows.splice(0)) await w.close().catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function open(name: string): Promise<Shopper> {
    const w = await openShopper(browser, origin, `console-${name}`);
    windows.push(w);
    return w;
  }

  /** Every control named, all text legible (AA contrast), and a screenshot. */
  async function step(w: Shopper, name: string): Promise<void> {
    expect(await unnamedControls(w.page), name).toEqual([]);
    expect(await lowContrastText(w.page), name).toEqual([]);
    await w.shot(name);
  }

  function expectClean(w: Shopper, allowed: RegExp[] = []): void {
    expect(w.errors.filter((e) => !allowed.some((a) => a.test(e)))).toEqual([]);
    expect(w.foreignRequests).toEqual([]);
  }

  function statusShown(page: Page, status: string): Promise<unknown> {
    return page.locator(`[data-status="${status}"]`).first().waitFor();
  }

  /** A new shopper's account; resolves to its email address. */
  async function signUp(page: Page, name: string): Promise<string> {
    const email = `${name.toLowerCase().replaceAll(" ", "-")}-${Date.now()}@example.com`;
    await page.goto("/signup");
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText(`Signed in as ${name}`).waitFor();
    return email;
  }

  /** The operator signs in on the console; its orders page is shown. */
  async function signInOperator(page: Page): Promise<void> {
    await page.goto("/admin");
    await page.getByLabel("Email").fill(operator.email);
    await page.getByLabel("Password").fill(operator.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Signed in as Olga Ops (operator)").waitFor();
    await page.getByRole("heading", { level: 1, name: "Orders" }).waitFor();
  }

  /** Goes to a section of the console through its navigation. */
  async function section(page: Page, name: string): Promise<void> {
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name, exact: true }).click();
    await page.getByRole("heading", { level: 1, name }).waitFor();
  }

  /** A new shopper buys three Moka Pots with the test card; resolves to the order id, its page open and paid. */
  async function buyThreeMokaPots(page: Page, name: string): Promise<string> {
    await signUp(page, name);
    await page.goto("/products/p-moka-pot");
    await page.getByLabel("Quantity").fill("3");
    await page.getByRole("button", { name: /^Add to cart – / }).click();
    await page.getByRole("link", { name: "Cart, 3 items" }).click();
    await page.getByRole("link", { name: "Go to checkout" }).click();
    await page.getByLabel("Card number").fill("4242 4242 4242 4242");
    await page.getByRole("button", { name: /^Place order/ }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]+$/);
    await statusShown(page, "Paid");
    return decodeURIComponent(new URL(page.url()).pathname.split("/").pop() as string);
  }

  it("an operator finds a paid order and refunds it in three steps; the shopper's open order page follows live to refunded", async () => {
    const shopper = await open("shopper");
    const orderId = await buyThreeMokaPots(shopper.page, "Rosa Refund");
    // Paid is not the end any more: the page stays live for refunds.
    await shopper.page.getByText("Status update live").waitFor();
    await markDocument(shopper.page);

    const ops = await open("operator");
    const { page } = ops;
    await page.goto("/admin");
    await page.getByRole("heading", { level: 1, name: "Operator sign-in" }).waitFor();
    await step(ops, "sign-in");
    await page.getByLabel("Email").fill(operator.email);
    await page.getByLabel("Password").fill(operator.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Signed in as Olga Ops (operator)").waitFor();
    await page.getByRole("heading", { level: 1, name: "Orders" }).waitFor();
    await page.locator("table.console-table").waitFor();
    expect(await page.locator(".not-operator").count()).toBe(0);
    await step(ops, "orders");

    // Filtered by status: the paid order is listed, and links to its page.
    await page.getByLabel("Status").selectOption("paid");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/\/admin\?status=paid$/);
    const row = page.locator(`tr[data-order-id="${orderId}"]`);
    await row.waitFor();
    expect(await row.locator("[data-status]").getAttribute("data-status")).toBe("Paid");
    await page.getByLabel("Status").selectOption("refunded");
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByText("No orders match.").waitFor();

    // Found by its id.
    await page.getByLabel("Order id").fill(orderId);
    await page.getByRole("button", { name: "Find order" }).click();
    await page.waitForURL(`**/admin/orders/${orderId}`);
    await page.getByRole("heading", { level: 1, name: `Order ${orderId.slice(0, 8)}` }).waitFor();
    await statusShown(page, "Paid");
    expect(await page.locator("[data-refunded-cents]").getAttribute("data-refunded-cents")).toBe("0");
    await step(ops, "order-paid");

    // The shopper's orders, from the order's page, and back.
    await page.getByRole("link", { name: "their orders" }).click();
    await page.waitForURL(/\/admin\?user=/);
    await page.locator(`tr[data-order-id="${orderId}"]`).waitFor();
    expect(await page.locator("tr[data-order-id]").count()).toBe(1);
    await page.getByRole("link", { name: orderId }).click();
    await page.getByRole("heading", { level: 1, name: `Order ${orderId.slice(0, 8)}` }).waitFor();

    // A refund needs a reason and at least one unit: said at the field.
    await page.getByLabel("Chosen lines").check();
    await page.getByRole("button", { name: "Refund" }).click();
    await page.locator("#reason-error").waitFor();
    await page.locator("#qty-0-error").waitFor();
    expect(await page.getByLabel("Reason").getAttribute("aria-invalid")).toBe("true");
    await step(ops, "refund-errors");

    // One of the three pots came back.
    await page.getByLabel(/^Units of .* to refund \(up to 3\)$/).fill("1");
    await page.getByLabel("The goods came back: put their stock back on sale").check();
    await page.getByLabel("Reason").fill("one pot arrived cracked");
    await page.getByRole("button", { name: "Refund" }).click();
    await page.locator('.refund-outcome[data-completed="true"]').waitFor();
    await statusShown(page, "Partly refunded");
    await page.locator('[data-refund-id][data-completed="true"]').waitFor();
    await step(ops, "order-partly-refunded");
    await statusShown(shopper.page, "Partly refunded");
    await shopper.page.getByText("Status update live").waitFor();

    // Another, kept by the shopper at a discount: partly refunded once more, no stock back.
    await page.getByLabel("Chosen lines").check();
    await page.getByLabel(/^Units of .* to refund \(up to 2\)$/).fill("1");
    await page.getByLabel("Reason").fill("second pot dented, kept by the shopper");
    await page.getByRole("button", { name: "Refund" }).click();
    await page.locator('[data-refund-id][data-completed="true"]').nth(1).waitFor();
    await page.locator('.refund-outcome[data-completed="true"]').waitFor();
    await shopper.page.waitForFunction(() => document.querySelectorAll(".timeline .step-name").length >= 5);

    // Then the rest, as a whole refund.
    await page.getByLabel("Reason").fill("the shopper returned the other one");
    await page.getByRole("button", { name: "Refund" }).click();
    await statusShown(page, "Refunded");
    await page.locator('.refund-outcome[data-completed="true"]').waitFor();
    expect(await page.locator("[data-refund-id]").count()).toBe(3);
    // Fully refunded: nothing left to refund, so no Refund action.
    expect(await page.getByRole("button", { name: "Refund" }).count()).toBe(0);
    await step(ops, "order-refunded");

    // The shopper's page, never reloaded, shows every refund step.
    await statusShown(shopper.page, "Refunded");
    expect(await stillSameDocument(shopper.page)).toBe(true);
    const steps = await shopper.page.locator(".timeline .step-name").allTextContents();
    expect(steps.slice(-3)).toEqual(["Partly refunded", "Partly refunded", "Refunded"]);
    expect(await shopper.page.getByText("Status update live").count()).toBe(0);
    await step(shopper, "shopper-refunded");

    expectClean(ops);
    expectClean(shopper);
  }, 120_000);

  it("an operator adjusts a product's stock with a reason and sees its level change", async () => {
    const ops = await open("stock");
    const { page } = ops;
    await signInOperator(page);
    await section(page, "Stock");
    const row = page.locator("tr[data-product-id]").first();
    await row.waitFor();
    const productId = (await row.getAttribute("data-product-id")) as string;
    expect(await page.getByRole("link", { name: "Stock", exact: true }).getAttribute("aria-current")).toBe("page");
    await step(ops, "stock");

    await page.getByRole("link", { name: productId, exact: true }).click();
    await page.getByRole("heading", { level: 1, name: `Stock of ${productId}` }).waitFor();
    const level = page.locator(".stock-level[data-available]");
    await level.waitFor();
    const before = Number(await level.getAttribute("data-available"));

    // The change and the reason are both required: said at their fields.
    await page.getByRole("button", { name: "Adjust stock" }).click();
    await page.locator("#delta-error").waitFor();
    await page.locator("#reason-error").waitFor();
    expect(await page.getByLabel("Reason").getAttribute("aria-invalid")).toBe("true");
    await page.locator("section[aria-labelledby=ledger-heading] :is(table, .empty)").first().waitFor();
    await step(ops, "stock-errors");

    await page.getByLabel("Change in units").fill("5");
    await page.getByLabel("Reason").fill("five received from the supplier");
    await page.getByRole("button", { name: "Adjust stock" }).click();
    await page.locator(`.stock-level[data-available="${before + 5}"]`).waitFor();
    await page.locator(".adjust-outcome").waitFor();
    // The ledger has it, newest first, with the level after it.
    const entry = page.locator("tr[data-adjustment-id]").first();
    await entry.locator("td", { hasText: "five received from the supplier" }).waitFor();
    expect(await entry.locator("td").nth(1).textContent()).toBe("+5");
    await step(ops, "stock-adjusted");

    // The books show the new level too.
    await page.getByRole("link", { name: "All stock books" }).click();
    await page.locator(`tr[data-product-id="${productId}"] [data-available="${before + 5}"]`).waitFor();
    // Audited, with its reason.
    await section(page, "Audit");
    await page.locator('tr[data-action="stock.adjust"]', { hasText: "five received from the supplier" }).waitFor();
    expectClean(ops);
  }, 120_000);

  it("an operator searches the products, creates one, reprices it, reads its price history, meets a stale-version conflict and archives it", async () => {
    const ops = await open("products");
    const { page } = ops;
    await signInOperator(page);
    await section(page, "Products");
    await page.locator("tr[data-product-id]").first().waitFor();
    expect(await page.getByRole("link", { name: "Products", exact: true }).getAttribute("aria-current")).toBe("page");
    // The search asks as the operator types (after a pause), keeping what was typed in the address.
    await page.getByLabel("Search", { exact: true }).pressSequentially("moka", { delay: 40 });
    await page.waitForURL(/\/admin\/products\?q=moka$/);
    await page.locator('tr[data-product-id="p-moka-pot"]').waitFor();
    await page.locator("table caption", { hasText: "matching" }).waitFor();
    expect(await page.locator("tr[data-product-id]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-product-id")))).toContain(
      "p-moka-pot",
    );
    await step(ops, "products-search");

    // A new product: what the server refuses is said at each field.
    await page.getByRole("link", { name: "New product" }).click();
    await page.getByRole("heading", { level: 1, name: "New product" }).waitFor();
    const id = `p-console-grinder-${Date.now()}`;
    await page.getByLabel("Id", { exact: true }).fill("not an id");
    await page.getByLabel("Name", { exact: true }).fill("Console Grinder");
    await page.getByLabel("Description", { exact: true }).fill("A burr grinder made in the console test.");
    await page.getByLabel("Price", { exact: true }).fill("39.00");
    await page.getByLabel("Currency", { exact: true }).fill("EU1");
    await page.getByLabel("Categories", { exact: true }).fill("coffee, Kitchen Gear");
    await page.getByLabel("Initial stock", { exact: true }).fill("7");
    await page.getByRole("button", { name: "Create product" }).click();
    await page.locator("#id-error").waitFor();
    await page.locator("#currency-error").waitFor();
    expect(await page.locator("#categories-error").textContent()).toContain("Category 2:");
    expect(await page.getByLabel("Categories", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    await step(ops, "product-new-errors");

    await page.getByLabel("Id", { exact: true }).fill(id);
    await page.getByLabel("Currency", { exact: true }).fill("EUR");
    await page.getByLabel("Categories", { exact: true }).fill("coffee, kitchen");
    await page.getByRole("button", { name: "Create product" }).click();
    await page.waitForURL(new RegExp(`/admin/products/${id}$`));
    await page.getByRole("heading", { level: 1, name: "Console Grinder" }).waitFor();
    await page.locator('.price-history tr[data-new-price-cents="3900"]').waitFor();

    // A new price: version 2, and the history lists both prices, newest first.
    await page.getByLabel("Price", { exact: true }).fill("42.50");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.locator(".product-saved", { hasText: "version 2" }).waitFor();
    await page.locator('[data-version="2"]').waitFor();
    const history = page.locator(".price-history tr[data-new-price-cents]");
    await history.nth(1).waitFor();
    expect(await history.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-new-price-cents")))).toEqual(["4250", "3900"]);
    expect(await history.first().locator("td").nth(4).textContent()).not.toBe("");
    await step(ops, "product-repriced");

    // Someone else saves version 2 meanwhile (another request, through the REST route): this page's edit is now stale.
    const login = await fetch(`${origin}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: operator.email, password: operator.password }),
    });
    const { access_token: token } = (await login.json()) as { access_token: string };
    const elsewhere = await fetch(`${origin}/api/admin/products/${id}`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        name: "Console Grinder Pro",
        description: "Changed elsewhere.",
        price_cents: 4500,
        currency: "EUR",
        categories: ["coffee"],
        image_urls: [],
        expected_version: "2",
      }),
    });
    expect(elsewhere.status).toBe(200);
    const stale = await fetch(`${origin}/api/admin/products/${id}`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: "Too late", price_cents: 100, currency: "EUR", expected_version: "2" }),
    });
    expect([stale.status, ((await stale.json()) as { code: string }).code]).toEqual([409, "failed_precondition"]);

    await page.getByLabel("Price", { exact: true }).fill("41.00");
    await page.getByRole("button", { name: "Save changes" }).click();
    const conflict = page.locator('.conflict[data-code="failed_precondition"]');
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain("409");
    await step(ops, "product-conflict");
    await page.getByRole("button", { name: "Reload the product" }).click();
    await page.locator('[data-version="3"]').waitFor();
    expect(await page.getByLabel("Name", { exact: true }).inputValue()).toBe("Console Grinder Pro");
    expect(await page.getByLabel("Price", { exact: true }).inputValue()).toBe("45.00");
    await page.locator('.price-history tr[data-new-price-cents="4500"]').waitFor();
    expect(await conflict.count()).toBe(0);

    // Archive, after confirming.
    await page.getByLabel("Reason", { exact: true }).fill("replaced by the Pro");
    await page.getByRole("button", { name: "Archive…" }).click();
    await page.getByRole("alertdialog").waitFor();
    await step(ops, "product-archive-confirm");
    await page.getByRole("button", { name: "Yes, archive it" }).click();
    await page.locator('[data-archived="true"]').waitFor();
    await page.locator('[data-version="4"]').waitFor();
    await step(ops, "product-archived");

    // No longer listed.
    await page.getByRole("link", { name: "All products" }).click();
    await page.getByLabel("Search", { exact: true }).fill("console grinder");
    await page.waitForURL(/q=console\+grinder$/);
    await page.locator("p.empty").waitFor();
    // Listed again when the operator asks for archived products too.
    await page.getByLabel("Archived too").check();
    await page.waitForURL(/q=console\+grinder&archived=1$/);
    await page.locator(`tr[data-product-id="${id}"] td[data-archived="true"]`).waitFor();
    await step(ops, "products-archived-too");
    expectClean(ops, [/^Failed to load resource: the server responded with a status of (400|409)/]);
  }, 120_000);

  it("an operator switches chaos scenarios on and off, replays a poison event from the events page, and finds it all audited", async () => {
    const ops = await open("chaos");
    const { page } = ops;
    await signInOperator(page);
    await section(page, "Chaos");
    const slow = page.locator('[data-scenario="slow"]');
    await slow.waitFor();
    await page.locator("aside.invariants :is(.invariants-verdict, .refusal)").first().waitFor();
    expect(await page.locator(".chaos-refused").count()).toBe(0);
    await step(ops, "chaos");

    // Service slow on catalog: on, shown on, then off again; the rest of catalog's faults kept.
    await slow.getByLabel("Service", { exact: true }).selectOption("catalog");
    await slow.getByLabel("Delay (ms)").fill("50");
    await slow.getByRole("button", { name: "Switch on" }).click();
    await slow.locator("#slow-reason-error").waitFor();
    await slow.getByLabel("Reason").fill("latency drill on catalog");
    await slow.getByRole("button", { name: "Switch on" }).click();
    await page.locator('[data-scenario="slow"][data-on="true"]').waitFor();
    expect(await page.locator('tr[data-service="catalog"]').getAttribute("data-on")).toBe("slow");
    expect(await page.locator('tr[data-service="catalog"] td').first().textContent()).toBe("delay=50ms");
    await step(ops, "chaos-slow-on");
    await slow.getByLabel("Reason").fill("latency drill over");
    await slow.getByRole("button", { name: "Switch off" }).click();
    await page.locator('[data-scenario="slow"][data-on="false"]').waitFor();
    expect(await page.locator('tr[data-service="catalog"]').getAttribute("data-on")).toBe("");

    // Payment declines: payment's provider fault, at a rate.
    const declines = page.locator('[data-scenario="declines"]');
    await declines.getByLabel("Rate (0–1)").fill("0.5");
    await declines.getByLabel("Reason").fill("decline drill");
    await declines.getByRole("button", { name: "Switch on" }).click();
    await page.locator('[data-scenario="declines"][data-on="true"]').waitFor();
    expect(await page.locator('tr[data-service="payment"] td').nth(2).textContent()).toBe("decline;rate=0.5");
    await declines.getByLabel("Reason").fill("decline drill over");
    await declines.getByRole("button", { name: "Switch off" }).click();
    await page.locator('[data-scenario="declines"][data-on="false"]').waitFor();

    // Broker away: on every service at once, then back.
    const broker = page.locator('[data-scenario="broker"]');
    await broker.getByLabel("Reason").fill("broker outage drill");
    await broker.getByRole("button", { name: "Switch on" }).click();
    await page.locator('[data-scenario="broker"][data-on="true"]').waitFor();
    expect(await page.locator("tr[data-service] td:nth-child(5)").allTextContents()).toEqual(Array(6).fill("code=UNAVAILABLE"));
    await step(ops, "chaos-broker-away");
    await broker.getByLabel("Reason").fill("broker back");
    await broker.getByRole("button", { name: "Switch off" }).click();
    await page.locator('[data-scenario="broker"][data-on="false"]').waitFor();

    // A poison event: notification's consumer fails for good on UserRegistered while a shopper signs up.
    const consumer = page.locator('[data-scenario="consumer"]');
    await consumer.getByLabel("Service", { exact: true }).selectOption("notification");
    await consumer.getByLabel("Event type").fill("shop.auth.v1.UserRegistered");
    await consumer.getByLabel("Failure").selectOption("poison");
    await consumer.getByLabel("Reason").fill("poison the welcome emails");
    await consumer.getByRole("button", { name: "Switch on" }).click();
    await page.locator('[data-scenario="consumer"][data-on="true"]').waitFor();
    // Another scenario on the same service keeps it: each switches its own part of the faults.
    await slow.getByLabel("Service", { exact: true }).selectOption("notification");
    await slow.getByLabel("Reason").fill("slow notification as well");
    await slow.getByRole("button", { name: "Switch on" }).click();
    await page.locator('tr[data-service="notification"][data-on="slow consumer"]').waitFor();
    await slow.getByLabel("Reason").fill("notification fast again");
    await slow.getByRole("button", { name: "Switch off" }).click();
    await page.locator('tr[data-service="notification"][data-on="consumer"]').waitFor();
    const shopper = await open("poisoned-shopper");
    const email = await signUp(shopper.page, "Paula Poison");
    // Dead-lettered after its attempts; then the consumer is fixed.
    await section(page, "Events");
    const letter = page.locator("li.letter", { hasText: email });
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.locator("section[aria-labelledby=letters-heading] :is(.letters, .empty)").first().waitFor();
          return letter.count();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(1);
    expect(await letter.locator("h3").textContent()).toContain("shop.auth.v1.UserRegistered");
    expect(await letter.locator(".letter-error").textContent()).not.toBe("");
    expect(await letter.locator(".payload").textContent()).toContain(email);
    // The service table is read beside the list, so it may have been read just before the letter came.
    await expect
      .poll(
        async () => {
          const count = Number(await page.locator('tr[data-service="notification"] [data-dead-letters]').getAttribute("data-dead-letters"));
          if (count === 0) await page.reload();
          return count;
        },
        { timeout: 10_000, interval: 500 },
      )
      .toBeGreaterThan(0);
    await step(ops, "events-dead-letter");

    await section(page, "Chaos");
    await consumer.getByLabel("Service", { exact: true }).selectOption("notification");
    await consumer.getByLabel("Event type").fill("shop.auth.v1.UserRegistered");
    await consumer.getByLabel("Reason").fill("welcome consumer fixed");
    await consumer.getByRole("button", { name: "Switch off" }).click();
    await page.locator('[data-scenario="consumer"][data-on="false"]').waitFor();

    // Replayed from the events page: a reason is required, said at its field.
    await section(page, "Events");
    await letter.waitFor();
    await letter.getByRole("button", { name: "Replay" }).click();
    await letter.locator(".field-error").waitFor();
    expect(await letter.getByLabel("Reason").getAttribute("aria-invalid")).toBe("true");
    await step(ops, "events-reason-missing");
    await letter.getByLabel("Reason").fill("welcome consumer fixed, send it");
    await letter.getByRole("button", { name: "Replay" }).click();
    await page.locator(".letter-outcome", { hasText: "handled" }).waitFor();
    await letter.waitFor({ state: "detached" });
    await step(ops, "events-replayed");
    await page.getByLabel("Service", { exact: true }).selectOption("notification");
    await page.getByLabel("Letters", { exact: true }).selectOption("replayed");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/\/admin\/events\?service=notification&status=replayed$/);
    await page.locator('li.letter[data-letter-status="replayed"]', { hasText: email }).waitFor();

    // The audit log has each of those actions, with its reason; filtered by service.
    await section(page, "Audit");
    await page.locator('tr[data-action="dead_letter.replay"]', { hasText: "welcome consumer fixed, send it" }).waitFor();
    await page.locator('tr[data-action="faults.set"]', { hasText: "latency drill on catalog" }).waitFor();
    await page.locator('tr[data-action="faults.set"]', { hasText: "poison the welcome emails" }).waitFor();
    await step(ops, "audit");
    await page.getByLabel("Service", { exact: true }).selectOption("catalog");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/\/admin\/audit\?service=catalog$/);
    await page.locator('tr[data-action="faults.set"]', { hasText: "latency drill over" }).waitFor();
    expect(new Set(await page.locator("tr[data-action] td:nth-child(2)").allTextContents())).toEqual(new Set(["catalog"]));
    await step(ops, "audit-catalog");
    expectClean(ops);
    expectClean(shopper);
  }, 180_000);

  it("an operator finds an order stuck in checkout by the shopper's email, cancels it with a reason, sees its notification, and the invariants hold", async () => {
    const ops = await open("cancel");
    const { page } = ops;
    await signInOperator(page);
    // Catalog's consumer fails for good on OrderPlaced: the next order stays pending, stuck in checkout.
    await section(page, "Chaos");
    const consumer = page.locator('[data-scenario="consumer"]');
    await consumer.getByLabel("Service", { exact: true }).selectOption("catalog");
    await consumer.getByLabel("Event type").fill("shop.order.v1.OrderPlaced");
    await consumer.getByLabel("Failure").selectOption("poison");
    await consumer.getByLabel("Reason").fill("hold orders in checkout");
    await consumer.getByRole("button", { name: "Switch on" }).click();
    await page.locator('[data-scenario="consumer"][data-on="true"]').waitFor();

    const shopper = await open("stuck-shopper");
    const email = await signUp(shopper.page, "Stella Stuck");
    await shopper.page.goto("/products/p-moka-pot");
    await shopper.page.getByRole("button", { name: /^Add to cart – / }).click();
    await shopper.page.getByRole("link", { name: "Cart, 1 item" }).click();
    await shopper.page.getByRole("link", { name: "Go to checkout" }).click();
    await shopper.page.getByLabel("Card number").fill("4242 4242 4242 4242");
    await shopper.page.getByRole("button", { name: /^Place order/ }).click();
    await shopper.page.waitForURL(/\/orders\/[0-9a-f-]+$/);
    const orderId = decodeURIComponent(new URL(shopper.page.url()).pathname.split("/").pop() as string);

    await consumer.getByLabel("Service", { exact: true }).selectOption("catalog");
    await consumer.getByLabel("Event type").fill("shop.order.v1.OrderPlaced");
    await consumer.getByLabel("Reason").fill("checkout hold over");
    await consumer.getByRole("button", { name: "Switch off" }).click();
    await page.locator('[data-scenario="consumer"][data-on="false"]').waitFor();

    // Found by the shopper's email, next to the id and status filters.
    await section(page, "Orders");
    await page.getByLabel("Shopper's email").fill(email.toUpperCase());
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/\/admin\?email=/);
    await page.locator(`tr[data-order-id="${orderId}"]`).waitFor();
    expect(await page.locator("tr[data-order-id]").count()).toBe(1);
    await step(ops, "orders-by-email");
    await page.getByRole("link", { name: orderId }).click();
    await page.getByRole("heading", { level: 1, name: `Order ${orderId.slice(0, 8)}` }).waitFor();
    await statusShown(page, "Placed");

    // Cancel: a reason is required, said at its field.
    await page.getByRole("button", { name: "Cancel order" }).click();
    await page.locator("#cancel-reason-error").waitFor();
    expect(await page.getByLabel("Reason for cancelling").getAttribute("aria-invalid")).toBe("true");
    await step(ops, "cancel-errors");
    await page.getByLabel("Reason for cancelling").fill("stuck in checkout, the shopper asked");
    await page.getByRole("button", { name: "Cancel order" }).click();
    await statusShown(page, "Cancelled");
    expect(await page.getByRole("button", { name: "Cancel order" }).count()).toBe(0);
    // The shopper is told: the notification shows on the order's page as it is sent.
    await page.locator('[data-notification-kind="Order cancelled"]').waitFor();
    await step(ops, "order-cancelled");

    // The poisoned OrderPlaced is set aside: the order is cancelled.
    await section(page, "Events");
    const letter = page.locator("li.letter", { hasText: orderId });
    await letter.waitFor();
    await letter.getByLabel("Reason").fill("order cancelled by an operator");
    await letter.getByRole("button", { name: "Discard" }).click();
    await letter.waitFor({ state: "detached" });

    // The invariants panel: holds.
    await section(page, "Chaos");
    await page.locator('.invariants-verdict[data-holds="true"]').waitFor({ timeout: 60_000 });
    await step(ops, "invariants-hold");
    expectClean(ops);
    expectClean(shopper);
  }, 180_000);

  it("the chaos page says chaos is refused where a service runs with NODE_ENV=production, and disables its controls", async () => {
    const ops = await open("chaos-production");
    const { page } = ops;
    await signInOperator(page);
    // The mesh here is not in production: its answer is replaced by one where payment is.
    const services = ["auth", "cart", "catalog", "notification", "order", "payment"].map((service) => ({
      service,
      faults: {},
      reachable: true,
      switchable: service !== "payment",
    }));
    await page.route("**/shop.ops.v1.OperationsConsoleService/ListFaults", (route) =>
      route.fulfill({
        status: 200,
        contentType: "application/proto",
        body: Buffer.from(toBinary(ListFaultsResponseSchema, create(ListFaultsResponseSchema, { services }))),
      }),
    );
    await section(page, "Chaos");
    const refused = page.locator(".chaos-refused");
    await refused.waitFor();
    expect(await refused.textContent()).toContain("Chaos is refused in payment");
    expect(await page.locator(`[data-scenario="broker"] legend`).textContent()).toBe("Refused in payment: NODE_ENV=production");
    for (const key of ["declines", "provider-failing"]) {
      const scenario = page.locator(`[data-scenario="${key}"]`);
      expect(await scenario.locator("fieldset").getAttribute("disabled")).not.toBeNull();
      expect(await scenario.getByRole("button", { name: "Switch on" }).isDisabled()).toBe(true);
    }
    // Elsewhere chaos goes on; payment cannot be chosen.
    const slow = page.locator('[data-scenario="slow"]');
    expect(await slow.getByRole("button", { name: "Switch on" }).isDisabled()).toBe(false);
    expect(await slow.locator('option[value="payment"]').isDisabled()).toBe(true);
    await step(ops, "chaos-refused");
    expectClean(ops);
  });

  it("refuses a shopper: the console says they are not an operator and shows each call's 403", async () => {
    const w = await open("not-operator");
    const { page } = w;
    await signUp(page, "Sam Shopper");
    await page.goto("/admin");
    await page.locator(".not-operator").waitFor();
    await page.getByText("Signed in as Sam Shopper (shopper)").waitFor();
    const refusal = page.locator('.refusal[data-code="permission_denied"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain("403");
    await step(w, "orders-refused");

    await page.goto("/admin/orders/00000000-0000-0000-0000-000000000000");
    await page.locator('.refusal[data-code="permission_denied"]').waitFor();
    await step(w, "order-refused");
    for (const path of ["/admin/stock", "/admin/events", "/admin/chaos", "/admin/audit"]) {
      await page.goto(path);
      await page.locator('.refusal[data-code="permission_denied"]').first().waitFor();
      await step(w, `${path.split("/").pop()}-refused`);
    }
    // Chromium logs the refused calls' 403 answers; nothing else.
    expectClean(w, [/^Failed to load resource: the server responded with a status of 403/]);
  });
});
