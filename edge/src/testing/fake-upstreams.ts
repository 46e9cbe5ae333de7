import { EventEmitter } from "node:events";
import { create, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import {
  Code,
  ConnectError,
  type CallContext,
  createGrpcServer,
  type GrpcServer,
  invalidArgument,
  type Logger,
  notFound,
  remainingMs,
  serverMethodDefinition,
  serviceRegistration,
} from "@shopmesh/platform";
import {
  CatalogService,
  type Product,
  ProductSchema,
  type StockLevel,
  StockLevelSchema,
} from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { EchoService } from "./echo-contract.js";

/** A small in-memory CatalogService on the platform's grpc-js server, for the edge tests. */
export interface FakeCatalog {
  readonly server: GrpcServer;
  readonly address: string;
  /** Changes a product's stock as AdjustStock would, notifying watchers. */
  adjust(productId: string, delta: number): void;
  /** Signals of in-flight calls, to check cancellation propagation. */
  readonly cancelled: string[];
}

const seed: Array<MessageInitShape<typeof ProductSchema>> = [
  {
    id: "p-cup",
    name: "Espresso cup",
    description: "Thick-walled porcelain",
    priceCents: 1200,
    currency: "EUR",
    categories: ["kitchen", "coffee"],
    stock: 5,
  },
  {
    id: "p-beans",
    name: "Coffee beans",
    description: "1 kg, medium roast",
    priceCents: 2490,
    currency: "EUR",
    categories: ["coffee"],
    stock: 40,
  },
  { id: "p-free", name: "Free sticker", description: "", priceCents: 0, currency: "EUR", categories: [], stock: 0 },
  {
    id: "p-grinder",
    name: "Hand grinder",
    description: "Conical burrs",
    priceCents: 8900,
    currency: "EUR",
    categories: ["coffee"],
    stock: 3,
  },
  // GetProduct of this one fails like a bug would: a plain Error carrying internals.
  { id: "p-crash", name: "Zz crash", description: "", priceCents: 1, currency: "EUR", categories: [], stock: 1 },
];

/** An async queue a generator can drain; ends on end() or when the signal aborts. */
class Queue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private wake: (() => void) | undefined;
  private done = false;
  private error: unknown;
  constructor(signal: AbortSignal) {
    signal.addEventListener("abort", () => this.end(), { once: true });
  }
  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }
  end(error?: unknown): void {
    this.done = true;
    this.error = error;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift() as T;
      if (this.done) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}

export async function startFakeCatalog(logger: Logger): Promise<FakeCatalog> {
  const products = new Map<string, Product>(
    seed.map((p) => [p.id as string, create(ProductSchema, { ...p, updatedAt: timestampFromDate(new Date()) })]),
  );
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const cancelled: string[] = [];
  const sorted = () => [...products.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const level = (p: Product): StockLevel => create(StockLevelSchema, { productId: p.id, available: p.stock, updatedAt: p.updatedAt });
  const get = (id: string): Product => {
    const p = products.get(id);
    if (!p) throw notFound(`product ${id}`);
    return p;
  };
  const adjust = (productId: string, delta: number) => {
    const p = get(productId);
    p.stock += delta;
    p.updatedAt = timestampFromDate(new Date());
    changes.emit("change", p);
  };
  const watch = (ctx: CallContext, ids: Set<string>) => {
    const q = new Queue<StockLevel>(ctx.signal);
    const onChange = (p: Product) => {
      if (ids.has(p.id)) q.push(level(p));
    };
    changes.on("change", onChange);
    ctx.signal.addEventListener("abort", () => {
      changes.off("change", onChange);
      cancelled.push(ctx.method.name);
    });
    return q;
  };

  const server = createGrpcServer({
    name: "fake-catalog",
    host: "127.0.0.1",
    port: 0,
    logger,
    shutdownGraceMs: 500,
    services: [
      serviceRegistration(CatalogService, {
        async listProducts(req) {
          if (req.pageSize < 0 || req.pageSize > 100) throw invalidArgument("page_size", "must be between 1 and 100 (0 for the default)");
          let offset = 0;
          if (req.pageToken !== "") {
            const m = /^o:(\d+)$/.exec(Buffer.from(req.pageToken, "base64url").toString());
            if (!m) throw invalidArgument("page_token", "malformed page token");
            offset = Number(m[1]);
          }
          const all = sorted().filter((p) => req.category === "" || p.categories.includes(req.category));
          const size = req.pageSize || 20;
          const items = all.slice(offset, offset + size);
          const next = offset + size < all.length ? Buffer.from(`o:${offset + size}`).toString("base64url") : "";
          return { items, nextPageToken: next };
        },
        async getProduct(req) {
          if (req.id === "p-crash")
            throw new Error("connect ECONNREFUSED 10.0.0.7:5432 (password=hunter2) at Pool.connect (/srv/catalog/db.js:42)");
          return { product: get(req.id) };
        },
        async batchGetProducts(req) {
          return { products: req.ids.filter((id) => products.has(id)).map(get), missingIds: req.ids.filter((id) => !products.has(id)) };
        },
        async *watchStock(requests, ctx) {
          const ids = new Set<string>();
          const q = watch(ctx, ids);
          void (async () => {
            for await (const r of requests) {
              for (const id of r.addProductIds) {
                ids.add(id);
                q.push(level(get(id)));
              }
              for (const id of r.removeProductIds) ids.delete(id);
            }
            q.end();
          })().catch((err: unknown) => q.end(err));
          for await (const l of q) yield { level: l };
        },
        async *streamStock(req, ctx) {
          const ids = new Set(req.productIds);
          const initial = req.productIds.map((id) => level(get(id)));
          const q = watch(ctx, ids);
          for (const l of initial) yield { level: l };
          for await (const l of q) yield { level: l };
        },
        async reserveStock() {
          throw new ConnectError("not in the fake", Code.Unimplemented);
        },
        async releaseStock() {
          throw new ConnectError("not in the fake", Code.Unimplemented);
        },
        async adjustStock(req) {
          adjust(req.productId, req.delta);
          return { level: level(get(req.productId)) };
        },
        async listStockBooks() {
          throw new ConnectError("not in the fake", Code.Unimplemented);
        },
        async listReservations() {
          throw new ConnectError("not in the fake", Code.Unimplemented);
        },
        async listStockAdjustments() {
          throw new ConnectError("not in the fake", Code.Unimplemented);
        },
        async createProduct() {
          throw new ConnectError("not in the fake", Code.Unimplemented);
        },
        async updateProduct() {
          throw new ConnectError("not in the fake", Code.Unimplemented);
        },
        async listPriceChanges() {
          throw new ConnectError("not in the fake", Code.Unimplemented);
        },
        async archiveProduct() {
          throw new ConnectError("not in the fake", Code.Unimplemented);
        },
      }),
    ],
  });
  await server.start();
  return { server, address: `127.0.0.1:${server.port}`, adjust, cancelled };
}

/** What the echo upstream saw of its last calls. */
export interface FakeEcho {
  readonly server: GrpcServer;
  readonly address: string;
  /** Names of calls whose signal was aborted (client gone or deadline). */
  readonly aborted: string[];
}

/**
 * The upstream of the runtime-built EchoService: answers with the request plus what it saw of
 * the call (authorization, x-request-id, remaining deadline). A request named "slow" waits
 * until the call is cancelled; one named "boom" throws an unexpected error.
 */
export async function startFakeEcho(logger: Logger): Promise<FakeEcho> {
  const aborted: string[] = [];
  const echo = async (req: Record<string, unknown>, ctx: CallContext) => {
    if (req.name === "boom") throw new TypeError("Cannot read properties of undefined (reading 'rows') at /srv/echo/store.js:9");
    if (req.name === "slow") {
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
      aborted.push(`${ctx.method.name}:${(ctx.signal.reason as Error)?.message ?? ""}`);
      throw ctx.signal.reason;
    }
    const md = (name: string) => String(ctx.metadata.get(name)[0] ?? "");
    const left = remainingMs(ctx.deadline);
    const { $typeName: _, ...fields } = req;
    const seen = {
      ...fields,
      authorization: md("authorization"),
      requestId: md("x-request-id"),
      deadlineMs: left === undefined ? -1 : Math.round(left),
    };
    return ctx.method.output.fields.some((f) => f.name === "echo") ? { echo: seen } : seen;
  };
  const handlers = Object.fromEntries(EchoService.methods.map((m) => [m.localName, echo]));
  const server = createGrpcServer({
    name: "fake-echo",
    host: "127.0.0.1",
    port: 0,
    logger,
    shutdownGraceMs: 500,
    services: [{ service: EchoService, handlers }],
  });
  await server.start();
  return { server, address: `127.0.0.1:${server.port}`, aborted };
}

/**
 * A bare grpc-js server for `service` whose every method fails the way a careless service does:
 * status UNKNOWN/INTERNAL with internals in the message (the platform's own servers never do).
 */
export async function startLeakyUpstream(service: DescService, code: grpc.status): Promise<{ address: string; stop(): Promise<void> }> {
  const server = new grpc.Server();
  const definition: Record<string, grpc.MethodDefinition<Buffer, unknown>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const m of service.methods) {
    definition[m.name] = serverMethodDefinition(m);
    impl[m.name] = ((_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback({
        code,
        details: 'pq: relation "products" does not exist at /srv/catalog/store.js:17 token=secret',
      })) as grpc.handleUnaryCall<Buffer, unknown>;
  }
  server.addService(definition as grpc.ServiceDefinition, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
