import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../embedded-mesh.js";
import { seedProductId, seedShopperEmail } from "./seed.js";

const script = (name: string) => fileURLToPath(new URL(`../../dist/tools/${name}`, import.meta.url));

function run(
  file: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("npm run seed into a fresh embedded mesh", () => {
  let mesh: EmbeddedMesh;
  const seedEnv = () => ({ POSTGRES_URL: mesh.postgresUrl, SEED_PASSWORD: "seed-test-password" });

  beforeAll(async () => {
    mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
  }, 60_000);

  afterAll(async () => {
    await mesh?.stop();
  });

  it("seeds products and order history that reconcile, search, list and page, and refuses a second seed", async () => {
    const seeded = await run(script("seed-main.js"), ["--products", "200", "--orders", "500", "--users", "10"], seedEnv());
    expect(seeded.stderr).toContain("seed: 100%");
    expect(seeded.stdout).toMatch(/seeded 200 products, 10 shoppers .* and 500 orders/);
    expect(seeded.code).toBe(0);

    const again = await run(script("seed-main.js"), ["--products", "10", "--orders", "10"], seedEnv());
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already seeded");

    const reconciled = await run(script("reconcile-main.js"), [], {
      ORDER_ADDR: mesh.services.order,
      PAYMENT_ADDR: mesh.services.payment,
      CATALOG_ADDR: mesh.services.catalog,
      RECONCILE_SETTLE_SECONDS: "0",
      ...(mesh.tlsDir ? { SHOPMESH_TLS_DIR: mesh.tlsDir } : {}),
    });
    expect(reconciled.stdout).toContain("books balanced");
    expect(reconciled.stdout).toMatch(/orders 500 \(/);
    // Every seeded order is in the past: all are checked across services.
    expect(reconciled.stdout).toContain("; 0 changed too recently");
    expect(reconciled.code).toBe(0);

    // The seeded products are found by search and by category.
    const get = async (path: string, token?: string) => {
      const res = await fetch(`${mesh.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect(res.status).toBe(200);
      return (await res.json()) as { items: Array<Record<string, unknown>>; next_page_token?: string };
    };
    const first = (await get(`/api/products/${seedProductId(1)}`)) as unknown as { name: string; categories: string[] };
    const word =
      String(first.name)
        .split(" ")
        .at(-1)
        ?.replace(/[^A-Za-z]/g, "") ?? "";
    const found = await get(`/api/products?q=${encodeURIComponent(word)}&page_size=50`);
    expect(found.items.length).toBeGreaterThan(0);
    expect(found.items.every((p) => `${p.name} ${p.description}`.toLowerCase().includes(word.toLowerCase().slice(0, 4)))).toBe(true);
    const category = first.categories[0] as string;
    const listed = await get(`/api/products?category=${category}&page_size=20`);
    expect(listed.items.length).toBeGreaterThan(0);
    expect(listed.items.every((p) => (p.categories as string[]).includes(category))).toBe(true);

    // A seeded shopper signs in and pages through their order history.
    const login = await fetch(`${mesh.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: seedShopperEmail(1), password: "seed-test-password" }),
    });
    expect(login.status).toBe(200);
    const { access_token: token } = (await login.json()) as { access_token: string };
    const seen = new Set<string>();
    let pageToken = "";
    let pages = 0;
    do {
      const page = await get(`/api/orders?page_size=10${pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ""}`, token);
      for (const o of page.items) seen.add(String(o.id));
      pageToken = page.next_page_token ?? "";
      pages++;
    } while (pageToken !== "" && pages < 100);
    expect(pages).toBeGreaterThan(1);
    // 500 orders over 10 shoppers: about 50 each, every one on exactly one page.
    expect(seen.size).toBeGreaterThan(20);
  }, 120_000);
});
