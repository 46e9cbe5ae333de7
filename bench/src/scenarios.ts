// The scenarios. To add a load scenario, append an object of kind "load" to `SCENARIOS`: which
// system it drives, how to build its request against the running system (probing it once
// first), and optionally a target it is judged against. The "checkout" kind drives shoppers
// through the whole checkout instead (checkout.ts); "relay" publishes an outbox through Kafka
// (relay.ts) and "saga" follows one shopper's checkouts in distributed mode, each next to its
// bare kafkajs baseline (kafka-bare.ts). A load scenario compares its rate with the scenario
// named in `baseline` ("baseline" unless it says otherwise), measured earlier in the same run.
import * as grpc from "@grpc/grpc-js";
import { closeClient, createClient, createMeshTls } from "@shopmesh/platform";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import type { BenchConfig } from "./bench-config.js";
import type { CallLoad } from "./call-load.js";
import { CHANNEL_OPTIONS, ECHO_PATH, PAYLOAD, passthrough } from "./echo.js";
import { httpRequest } from "./http-util.js";
import type { LoadRequest } from "./load.js";
import { categoryLoad, historyDeepPageLoad, historyFirstPageLoad, searchLoad } from "./scale-requests.js";
import { HarnessError, type RunningSystem } from "./system.js";

/** Systems the harness knows how to start; scenarios of one system run against one instance. */
export type SystemName = "baseline" | "mesh" | "mesh-telemetry" | "mesh-scale" | "distributed";

export interface ScenarioTarget {
  /** Minimum requests/s as a fraction of the baseline's in the same run (none: not compared). */
  readonly minRatioToBaseline?: number;
  /** Maximum p99 latency, milliseconds. */
  readonly maxP99Ms?: number;
}

export interface CheckoutTarget {
  /** Maximum p50 of POST /api/checkout → paid, milliseconds (none: reported without a gate). */
  readonly maxP50Ms?: number;
  /** Maximum p99 of POST /api/checkout → paid, milliseconds (none: reported without a gate). */
  readonly maxP99Ms?: number;
  /** Maximum failed + stuck checkouts. */
  readonly maxFailedOrStuck: number;
  /** Minimum checkouts/s as a fraction of the `baseline` scenario's in the same run. */
  readonly minRatioToBaseline?: number;
  /** Minimum paid checkouts per second. */
  readonly minPerSecond?: number;
  /** Maximum CPU of every process of the system per checkout, ms. */
  readonly maxCpuMsPerCheckout?: number;
  /** Maximum SQL statements per checkout, as the database counted them. */
  readonly maxStatementsPerCheckout?: number;
  /** Maximum p99 of POST /api/cart/items during the checkouts, ms. */
  readonly maxAddItemP99Ms?: number;
}

export interface RelayTarget {
  /** Minimum relay events/s as a fraction of the bare kafkajs producer's in the same run. */
  readonly minRatioToBare: number;
}

export interface SagaTarget {
  /** Broker round trips a checkout → paid needs: OrderPlaced, StockReserved, PaymentSucceeded. */
  readonly hops: number;
  /** Maximum checkout → paid p50 minus `hops` × the bare round-trip p50, milliseconds. */
  readonly maxOverheadMs: number;
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
  /**
   * The HTTP request autocannon loads with, or calls the bench makes itself (gRPC). Must throw
   * when a probe shows the system does not answer as expected.
   */
  prepare(ctx: ScenarioContext): Promise<LoadRequest | CallLoad>;
  /** The scenario whose requests/s this one's are divided by (default "baseline"). */
  readonly baseline?: string;
  readonly target?: ScenarioTarget;
  /** Paced at this many requests/s over all connections (see LoadOptions.ratePerSecond) instead of a closed loop. */
  readonly ratePerSecond?: (cfg: BenchConfig) => number;
}

/** `BENCH_SHOPPERS` shoppers checking out `BENCH_CHECKOUTS_PER_SHOPPER` times each (checkout.ts). */
export interface CheckoutScenario extends ScenarioBase {
  readonly kind: "checkout";
  /** The checkout scenario whose checkouts/s this one's are divided by. */
  readonly baseline?: string;
  readonly target: CheckoutTarget;
}

/** `BENCH_RELAY_EVENTS` outbox rows published by the outbox relay, next to a bare kafkajs producer (relay.ts). */
export interface RelayScenario extends ScenarioBase {
  readonly kind: "relay";
  readonly target: RelayTarget;
}

/** One shopper checking out `BENCH_DIST_CHECKOUTS` times, next to bare kafkajs round trips (kafka-bare.ts). */
export interface SagaScenario extends ScenarioBase {
  readonly kind: "saga";
  readonly target: SagaTarget;
}

export type Scenario = LoadScenario | CheckoutScenario | RelayScenario | SagaScenario;

// Issue 16.
const EDGE_PRODUCT_READ_TARGET: ScenarioTarget = { minRatioToBaseline: 0.5, maxP99Ms: 25 };
const CHECKOUT_TARGET: CheckoutTarget = {
  maxP50Ms: 100,
  maxP99Ms: 250,
  maxFailedOrStuck: 0,
  minPerSecond: 200,
  maxCpuMsPerCheckout: 8,
  maxStatementsPerCheckout: 40,
  maxAddItemP99Ms: 50,
};
// Issue 4.
const RELAY_TARGET: RelayTarget = { minRatioToBare: 0.5 };
const SAGA_TARGET: SagaTarget = { hops: 3, maxOverheadMs: 50, maxFailedOrStuck: 0 };
// A catalog a shop can run: on a seeded mesh, reads within these p99s and checkouts within 10 % of
// the demo catalog's rate.
const SCALE_CATALOG_READ_TARGET: ScenarioTarget = { maxP99Ms: 50 };
const SCALE_HISTORY_TARGET: ScenarioTarget = { maxP99Ms: 30 };
const SCALE_CHECKOUT_MIN_RATIO = 0.9;
// Issue 5: with tracing exported and metrics scraped, at most 15 % fewer requests/s than without.
const TELEMETRY_MIN_RATIO = 0.85;

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

/** `GET /api/products/{id}` on the edge, probed once. */
async function restProductRead({ system, productId }: ScenarioContext): Promise<LoadRequest> {
  const id = await productId();
  const request: LoadRequest = {
    url: `${system.url}/api/products/${encodeURIComponent(id)}`,
    method: "GET",
    headers: { accept: "application/json" },
  };
  await probe(request, id);
  return request;
}

/** The gRPC server `name` of `system`, or a HarnessError. */
function grpcAddress(system: RunningSystem, name: string): string {
  const address = system.grpc[name];
  if (!address) throw new HarnessError(`${system.name} reports no gRPC address for ${name} (has: ${Object.keys(system.grpc).join(", ")})`);
  return address;
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
    name: "grpc-echo",
    title: "baseline: grpc-js client → bare grpc-js echo",
    system: "baseline",
    // A baseline itself: compared with nothing.
    baseline: "grpc-echo",
    async prepare({ system }) {
      const address = grpcAddress(system, "echo");
      const client = new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      const call = () =>
        new Promise<Buffer>((resolve, reject) =>
          client.makeUnaryRequest<Buffer, Buffer>(ECHO_PATH, passthrough, passthrough, PAYLOAD, (err, reply) =>
            err || !reply ? reject(err ?? new Error("no reply")) : resolve(reply),
          ),
        );
      await call();
      return { method: "gRPC", path: `${address}${ECHO_PATH}`, call, close: () => client.close() };
    },
  },
  {
    kind: "load",
    name: "edge-rest-get-product",
    title: "edge REST GET /api/products/{id}",
    system: "mesh",
    target: EDGE_PRODUCT_READ_TARGET,
    prepare: restProductRead,
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
    kind: "load",
    name: "grpc-get-product",
    title: "gRPC hop: platform client → catalog GetProduct",
    system: "mesh",
    baseline: "grpc-echo",
    // Service to service as the services call each other: the platform's client (deadline,
    // breaker, interceptors) to catalog's gRPC server (interceptors, handler, one Postgres read).
    async prepare({ system, productId }) {
      const id = await productId();
      const address = grpcAddress(system, "catalog");
      // Over mutual TLS as the edge, GetProduct's caller in the mesh (its call policy), when the mesh runs it.
      const tls = system.tlsDir ? createMeshTls({ dir: system.tlsDir, workload: "edge" }) : undefined;
      const catalog = createClient(CatalogService, address, { tls });
      const reply = await catalog.getProduct({ id });
      if (reply.product?.id !== id) throw new HarnessError(`probe catalog GetProduct at ${address}: no product ${id} in the reply`);
      return {
        method: "gRPC",
        path: `${address}/shop.catalog.v1.CatalogService/GetProduct`,
        call: () => catalog.getProduct({ id }),
        close: () => closeClient(catalog),
      };
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
  // What telemetry costs (issue 5): two meshes on fresh data side by side, one exporting every
  // span (OTLP to a sink of the bench's) and scraped for metrics every second, one without;
  // measured in alternating rounds, so that a busy machine weighs on both alike.
  {
    kind: "load",
    name: "telemetry-off-edge-rest-get-product",
    title: "edge REST GET /api/products/{id}, telemetry off (paired)",
    system: "mesh-telemetry",
    prepare: restProductRead,
  },
  {
    kind: "load",
    name: "telemetry-edge-rest-get-product",
    title: "edge REST GET /api/products/{id}, telemetry on",
    system: "mesh-telemetry",
    baseline: "telemetry-off-edge-rest-get-product",
    target: { minRatioToBaseline: TELEMETRY_MIN_RATIO },
    prepare: restProductRead,
  },
  {
    kind: "checkout",
    name: "telemetry-off-checkout",
    title: "checkout → paid, telemetry off (paired)",
    system: "mesh-telemetry",
    target: { maxFailedOrStuck: 0 },
  },
  {
    kind: "checkout",
    name: "telemetry-checkout",
    title: "checkout → paid, telemetry on",
    system: "mesh-telemetry",
    baseline: "telemetry-off-checkout",
    target: { maxFailedOrStuck: 0, minRatioToBaseline: TELEMETRY_MIN_RATIO },
  },
  // The shop at scale (phases/scale.ts): a mesh seeded with BENCH_SCALE_PRODUCTS products and
  // BENCH_SCALE_ORDERS orders; each read is a baseline of its own, judged by its p99 twice: in a
  // closed loop (each connection asks again as soon as it is answered, so the p99 says how the
  // mesh queues at its saturation rate) and paced at BENCH_SCALE_RATE requests/s over the same
  // connections (the latency a shop's traffic sees below saturation).
  ...scaleReads("scale-search", "seeded: GET /api/products?q= (search)", SCALE_CATALOG_READ_TARGET, searchLoad),
  ...scaleReads("scale-list-category", "seeded: GET /api/products?category=", SCALE_CATALOG_READ_TARGET, categoryLoad),
  ...scaleReads("scale-order-history", "seeded: GET /api/orders, first page", SCALE_HISTORY_TARGET, historyFirstPageLoad),
  ...scaleReads("scale-order-history-deep", "seeded: GET /api/orders, page 10", SCALE_HISTORY_TARGET, historyDeepPageLoad),
  {
    // Last: it changes the data the reads would see.
    kind: "checkout",
    name: "scale-checkout",
    title: "seeded: checkout → paid",
    system: "mesh-scale",
    baseline: "checkout",
    target: { maxFailedOrStuck: 0, minRatioToBaseline: SCALE_CHECKOUT_MIN_RATIO },
  },
  {
    kind: "relay",
    name: "relay",
    title: "outbox relay → Kafka bus",
    system: "distributed",
    target: RELAY_TARGET,
  },
  {
    kind: "saga",
    name: "distributed-checkout",
    title: "distributed checkout → paid, 1 shopper",
    system: "distributed",
    target: SAGA_TARGET,
  },
  {
    // Throughput under concurrency, reported without a latency gate.
    kind: "checkout",
    name: "distributed-checkout-concurrent",
    title: "distributed checkout → paid, concurrent",
    system: "distributed",
    target: { maxFailedOrStuck: 0 },
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

/** A scale read in a closed loop, then paced at BENCH_SCALE_RATE: two load scenarios of the seeded mesh. */
function scaleReads(
  name: string,
  title: string,
  target: ScenarioTarget,
  prepare: (system: RunningSystem) => Promise<LoadRequest>,
): LoadScenario[] {
  const read = { kind: "load", system: "mesh-scale", target, prepare: ({ system }: ScenarioContext) => prepare(system) } as const;
  return [
    { ...read, name, title, baseline: name },
    { ...read, name: `${name}-paced`, title: `${title}, paced`, baseline: `${name}-paced`, ratePerSecond: (cfg) => cfg.scaleRate },
  ];
}
