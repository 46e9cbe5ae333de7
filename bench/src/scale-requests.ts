// The requests of the scale scenarios, on a mesh seeded by `npm run seed`'s code (phases/scale.ts):
// searches and category listings over the seeded catalog, and seeded shoppers' order history,
// each spread over many variants (words, categories, shoppers) so that no one answer is measured.
import { seedCategories, seedShopperEmail } from "@shopmesh/launcher";
import { httpRequest } from "./http-util.js";
import type { LoadRequest } from "./load.js";
import { HarnessError, type RunningSystem } from "./system.js";

/** Password of the shoppers the scale phase seeds. */
export const SCALE_PASSWORD = "bench-scale-password";
/** Shoppers whose order history is read, each a variant (a seed has at least 10). */
const HISTORY_SHOPPERS = 10;
/** Orders per page of the history, and the page the deep read asks for (or the shopper's last). */
const HISTORY_PAGE_SIZE = 20;
const DEEP_PAGE = 10;

type Variant = { readonly path: string; readonly headers?: Readonly<Record<string, string>> };

/** GETs each variant once: every one must answer 200 with JSON holding at least `minItems` items. */
async function probeVariants(system: RunningSystem, variants: readonly Variant[], minItems: number): Promise<void> {
  for (const v of variants) {
    const res = await httpRequest(`${system.url}${v.path}`, { headers: { accept: "application/json", ...v.headers } });
    if (res.status !== 200) throw new HarnessError(`probe GET ${v.path} → ${res.status}: ${res.body.slice(0, 300)}`);
    const items = (JSON.parse(res.body) as { items?: unknown[] }).items ?? [];
    if (items.length < minItems) throw new HarnessError(`probe GET ${v.path}: ${items.length} items, expected at least ${minItems}`);
  }
}

function load(system: RunningSystem, variants: readonly Variant[]): LoadRequest {
  const first = variants[0];
  if (!first) throw new HarnessError("no request to load with");
  return { url: `${system.url}${first.path}`, method: "GET", headers: { accept: "application/json" }, variants };
}

/** `GET /api/products?q=` over every kind of thing the seed sells ("cutting board", "teapot", …). */
export async function searchLoad(system: RunningSystem): Promise<LoadRequest> {
  const words = Object.values(seedCategories).flatMap((things) => things.map((t) => t.toLowerCase()));
  const variants = words.map((w) => ({ path: `/api/products?q=${encodeURIComponent(w)}&page_size=20` }));
  await probeVariants(system, variants, 1);
  return load(system, variants);
}

/** `GET /api/products?category=` over every seeded category. */
export async function categoryLoad(system: RunningSystem): Promise<LoadRequest> {
  const variants = Object.keys(seedCategories).map((c) => ({ path: `/api/products?category=${encodeURIComponent(c)}&page_size=20` }));
  await probeVariants(system, variants, 1);
  return load(system, variants);
}

/** Access tokens of the first seeded shoppers, signed in once per system. */
const tokens = new WeakMap<RunningSystem, Promise<string[]>>();

function shopperTokens(system: RunningSystem): Promise<string[]> {
  let found = tokens.get(system);
  if (!found) {
    found = Promise.all(
      Array.from({ length: HISTORY_SHOPPERS }, async (_, i) => {
        const email = seedShopperEmail(i + 1);
        const res = await httpRequest(`${system.url}/api/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password: SCALE_PASSWORD }),
        });
        if (res.status !== 200) throw new HarnessError(`POST /api/auth/login as ${email} → ${res.status}: ${res.body.slice(0, 300)}`);
        return (JSON.parse(res.body) as { access_token: string }).access_token;
      }),
    );
    tokens.set(system, found);
  }
  return found;
}

/** A seeded shopper's `GET /api/orders`, first page (newest orders). */
export async function historyFirstPageLoad(system: RunningSystem): Promise<LoadRequest> {
  const variants = (await shopperTokens(system)).map((token) => ({
    path: `/api/orders?page_size=${HISTORY_PAGE_SIZE}`,
    headers: { authorization: `Bearer ${token}` },
  }));
  await probeVariants(system, variants, 1);
  return load(system, variants);
}

/** A seeded shopper's `GET /api/orders` at page DEEP_PAGE (or their last page), its token found by walking the pages once. */
export async function historyDeepPageLoad(system: RunningSystem): Promise<LoadRequest> {
  const variants: Variant[] = [];
  for (const token of await shopperTokens(system)) {
    const headers = { authorization: `Bearer ${token}` };
    let pageToken = "";
    for (let page = 1; page < DEEP_PAGE; page++) {
      const res = await httpRequest(
        `${system.url}/api/orders?page_size=${HISTORY_PAGE_SIZE}${pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ""}`,
        { headers },
      );
      if (res.status !== 200) throw new HarnessError(`GET /api/orders → ${res.status}: ${res.body.slice(0, 300)}`);
      const next = (JSON.parse(res.body) as { next_page_token?: string }).next_page_token ?? "";
      if (next === "") break;
      pageToken = next;
    }
    variants.push({
      path: `/api/orders?page_size=${HISTORY_PAGE_SIZE}${pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ""}`,
      headers,
    });
  }
  await probeVariants(system, variants, 1);
  return load(system, variants);
}
