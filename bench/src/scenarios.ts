// The scenarios. To add a load scenario, append an object of kind "load" to `SCENARIOS`: which
// system it drives, how to build its request against the running system (probing it once
// first), and optionally a target it is judged against. The "checkout" kind drives shoppers
// through the whole checkout instead (checkout.ts).
import { httpRequest } from "./http-util.js";
import type { LoadRequest } from "./load.js";
import { HarnessError, type RunningSystem } from "./system.js";

/** Systems the harness knows how to start; scenarios of one system run against one instance. */
export type SystemName = "baseline" | "mesh";

export interface ScenarioTarget {
  /** Minimum requests/s as a fraction of the baseline's in the same run. */
  readonly minRatioToBaseline: number;
  /** Maximum p99 latency, milliseconds. */
  readonly maxP99Ms: number;
}

export interface CheckoutTarget {
  /** Maximum p50 of POST /api/checkout → paid, milliseconds. */
  readonly maxP50Ms: number;
  /** Maximum p99 of POST /api/checkout → paid, milliseconds. */
  readonly maxP99Ms: number;
  /** Maximum failed + stuck checkouts. */
  readonly maxFailedOrStuck: number;
}

export interface ScenarioContext {
  readonly system: RunningSystem;
  /** Memoized per system instance: an id from `GET /api/products`. */
  productId(): Promise<string>;
}

interface ScenarioBase {
  /** Stable id used in results and in BENCH_ONLY. */
  readonly name: string;
  /** What is measured, for the table. */
  readonly title: string;
  readonly system: SystemName;
}

/** One request, sent by autocannon over `BENCH_CONNECTIONS` connections for `BENCH_DURATION`. */
export interface LoadScenario extends ScenarioBase {
  readonly kind: "load";
  /** The request to load with. Must throw when a probe shows the system does not answer as expected. */
  prepare(ctx: ScenarioContext): Promise<LoadRequest>;
  readonly target?: ScenarioTarget;
}

/** `BENCH_SHOPPERS` shoppers checking out `BENCH_CHECKOUTS_PER_SHOPPER` times each (checkout.ts). */
export interface CheckoutScenario extends ScenarioBase {
  readonly kind: "checkout";
  readonly target: CheckoutTarget;
}

export type Scenario = LoadScenario | CheckoutScenario;

const EDGE_PRODUCT_READ_TARGET: ScenarioTarget = { minRatioToBaseline: 0.4, maxP99Ms: 30 };
const CHECKOUT_TARGET: CheckoutTarget = { maxP50Ms: 50, maxP99Ms: 250, maxFailedOrStuck: 0 };

/** Sends `request` once and checks the answer is 2xx JSON containing `mustContain`. */
async function probe(request: LoadRequest, mustContain?: string): Promise<void> {
  const res = await httpRequest(request.url, {
    method: request.method,
    ...(request.headers ? { headers: request.headers } : {}),
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  const what = `${request.method} ${request.url}`;
  if (res.status < 200 || res.status > 299) {
    throw new HarnessError(`probe ${what} → ${res.status}: ${res.body.slice(0, 300)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    throw new HarnessError(`probe ${what} → ${res.status} with a body that is not JSON: ${res.body.slice(0, 300)}`);
  }
  if (mustContain !== undefined && !JSON.stringify(parsed).includes(JSON.stringify(mustContain))) {
    throw new HarnessError(`probe ${what} → body does not mention ${JSON.stringify(mustContain)}: ${res.body.slice(0, 300)}`);
  }
}

export const SCENARIOS: readonly Scenario[] = [
  {
    kind: "load",
    name: "baseline",
    title: "baseline: node:http → grpc-js echo",
    system: "baseline",
    async prepare({ system }) {
      const request: LoadRequest = { url: `${system.url}/`, method: "GET" };
      await probe(request);
      return request;
    },
  },
  {
    kind: "load",
    name: "edge-rest-get-product",
    title: "edge REST GET /api/products/{id}",
    system: "mesh",
    target: EDGE_PRODUCT_READ_TARGET,
    async prepare({ system, productId }) {
      const id = await productId();
      const request: LoadRequest = {
        url: `${system.url}/api/products/${encodeURIComponent(id)}`,
        method: "GET",
        headers: { accept: "application/json" },
      };
      await probe(request, id);
      return request;
    },
  },
  {
    kind: "load",
    name: "connect-get-product",
    title: "edge Connect CatalogService/GetProduct",
    system: "mesh",
    // Reported next to the baseline without a gate: the target is set for the REST product
    // read, and connect-node's own Connect-JSON handling costs several times a bare node:http
    // handler per request (ARCHITECTURE.md: ~11.6k vs ~90k requests/s).
    async prepare({ system, productId }) {
      const id = await productId();
      const request: LoadRequest = {
        url: `${system.url}/shop.catalog.v1.CatalogService/GetProduct`,
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1" },
        body: JSON.stringify({ id }),
      };
      await probe(request, id);
      return request;
    },
  },
  {
    // Last: it changes the data (users, orders, stock) the read scenarios would see.
    kind: "checkout",
    name: "checkout",
    title: "checkout: POST /api/checkout → paid",
    system: "mesh",
    target: CHECKOUT_TARGET,
  },
];

/** `GET /api/products` on the edge → the first item's id. */
export async function firstProductId(system: RunningSystem): Promise<string> {
  const res = await httpRequest(`${system.url}/api/products`, { headers: { accept: "application/json" } });
  if (res.status !== 200) {
    throw new HarnessError(`GET /api/products → ${res.status}: ${res.body.slice(0, 300)}`);
  }
  const body = JSON.parse(res.body) as { items?: Array<{ id?: unknown }> };
  const id = body.items?.[0]?.id;
  if (typeof id !== "string" || id === "") {
    throw new HarnessError(`GET /api/products returned no product id: ${res.body.slice(0, 300)}`);
  }
  return id;
}
