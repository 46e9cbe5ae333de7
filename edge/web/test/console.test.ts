import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEdge, type Edge, readEdgeConfig } from "@shopmesh/edge";
import { type EmbeddedMesh, startEmbedded } from "@shopmesh/launcher";
import { closeClient, createClient, createLogger, createMeshTls } from "@shopmesh/platform";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
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
  for (const path of ["/admin", "/admin/orders/00000000-0000-0000-0000-000000000000"]) {
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

  async function signUp(page: Page, name: string): Promise<void> {
    await page.goto("/signup");
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Email").fill(`${name.toLowerCase().replaceAll(" ", "-")}-${Date.now()}@example.com`);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText(`Signed in as ${name}`).waitFor();
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
    // Chromium logs the refused calls' 403 answers; nothing else.
    expectClean(w, [/^Failed to load resource: the server responded with a status of 403/]);
  });
});
