import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { CatalogService, type GetProductResponse, ProductSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { breakerState, closeClient, createClient } from "./client.js";
import { currentCall, remainingMs } from "./context.js";
import { createGrpcServer, type GrpcServer } from "./server.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { type ServiceHandlers, serviceRegistration } from "./service.js";

const logger = createLogger({ level: "silent" });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const handlers = catalogHandlers;

async function serve(overrides: Partial<ServiceHandlers<typeof CatalogService>>, grace?: number): Promise<GrpcServer> {
  const server = createGrpcServer({
    name: "test",
    host: "127.0.0.1",
    port: 0,
    logger,
    services: [serviceRegistration(CatalogService, handlers(overrides))],
    shutdownGraceMs: grace,
  });
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

function client(port: number, opts: Parameters<typeof createClient>[2] = {}) {
  const c = createClient(CatalogService, `127.0.0.1:${port}`, { logger, ...opts });
  cleanups.push(() => closeClient(c));
  return c;
}

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const product = (id: string) => create(ProductSchema, { id, name: `Product ${id}`, priceCents: 100, currency: "EUR", stock: 3 });

describe("gRPC server adapter", () => {
  it("serves typed unary handlers to a typed client", async () => {
    const server = await serve({ getProduct: async (req) => ({ product: product(req.id) }) });
    const res = await client(server.port).getProduct({ id: "p1" });
    expect(res.product?.name).toBe("Product p1");
  });

  it("turns an unexpected throw into INTERNAL with a generic message", async () => {
    const server = await serve({
      getProduct: async () => {
        throw new Error("connection to db-password=hunter2 failed");
      },
    });
    const err = await client(server.port)
      .getProduct({ id: "p1" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Internal);
    expect((err as ConnectError).rawMessage).toBe("internal error");
  });

  it("keeps the code and message of domain errors", async () => {
    const server = await serve({
      getProduct: async (req) => {
        throw new ConnectError(`product ${req.id} not found`, Code.NotFound);
      },
    });
    await expect(client(server.port).getProduct({ id: "nope" })).rejects.toMatchObject({
      code: Code.NotFound,
      rawMessage: "product nope not found",
    });
  });

  it("answers INVALID_ARGUMENT to bytes that are not the request message", async () => {
    const server = await serve({ getProduct: async (req) => ({ product: product(req.id) }) });
    const raw = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    cleanups.push(() => raw.close());
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      raw.makeUnaryRequest(
        "/shop.catalog.v1.CatalogService/GetProduct",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0xff, 0xff, 0xff, 0xff]),
        (e) => resolve(e),
      );
    });
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("streams server-streaming and bidi responses", async () => {
    const server = await serve({
      async *streamStock(req) {
        for (const id of req.productIds) yield { level: { productId: id, available: 1 } };
      },
      async *watchStock(requests) {
        for await (const r of requests) for (const id of r.addProductIds) yield { level: { productId: id, available: 2 } };
      },
    });
    const c = client(server.port);
    const streamed: string[] = [];
    for await (const m of c.streamStock({ productIds: ["a", "b"] })) streamed.push(m.level?.productId ?? "");
    expect(streamed).toEqual(["a", "b"]);

    async function* requests() {
      yield { addProductIds: ["x"] };
      yield { addProductIds: ["y"] };
    }
    const watched: string[] = [];
    for await (const m of c.watchStock(requests())) watched.push(m.level?.productId ?? "");
    expect(watched).toEqual(["x", "y"]);
  });
});

describe("deadlines", () => {
  it("propagates the caller's remaining budget downstream", async () => {
    let seenRemaining: number | undefined;
    const downstream = await serve({
      getProduct: async (req, ctx) => {
        seenRemaining = remainingMs(ctx.deadline);
        return { product: product(req.id) };
      },
    });
    const downstreamClient = client(downstream.port, { defaultTimeoutMs: 5_000 });
    const upstream = await serve({
      getProduct: async (req): Promise<GetProductResponse> => {
        expect(currentCall()).toBeDefined();
        return downstreamClient.getProduct({ id: req.id });
      },
    });
    // The budget is roomy (a busy machine spends tens of ms on the first connection) and far
    // below the downstream client's own default of 5 s, which it must not fall back to.
    await client(upstream.port).getProduct({ id: "p1" }, { timeoutMs: 2_000 });
    expect(seenRemaining).toBeDefined();
    expect(seenRemaining).toBeLessThan(2_000);
    expect(seenRemaining).toBeGreaterThan(0);
  });

  it("ends a call that outlives its deadline with DEADLINE_EXCEEDED", async () => {
    const server = await serve({
      getProduct: (_req, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
        }),
    });
    await expect(client(server.port).getProduct({ id: "p1" }, { timeoutMs: 30 })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
  });

  it("serves many calls at once that each look at their signal without a warning of leaked listeners", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const release = signal();
      let waiting = 0;
      const server = await serve({
        getProduct: async (req, ctx) => {
          ctx.signal.addEventListener("abort", () => {});
          waiting += 1;
          await release.promise;
          return { product: product(req.id) };
        },
      });
      const c = client(server.port);
      const calls = Array.from({ length: 25 }, (_, i) => c.getProduct({ id: `p${i}` }, { timeoutMs: 10_000 }));
      await expect.poll(() => waiting, { timeout: 5_000 }).toBe(25);
      release.resolve();
      expect((await Promise.all(calls)).map((r) => r.product?.id)).toHaveLength(25);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("hands a handler that looks at its signal late an aborted one with the reason", async () => {
    // Each handler looks at its signal only once its caller has given up (the deadline passed,
    // or the caller cancelled), and a while after that, so the server has heard of it first.
    const started = { deadline: signal(), cancel: signal() };
    const callerDone = { deadline: signal(), cancel: signal() };
    const reasons: Record<string, unknown> = {};
    const looked = { deadline: signal(), cancel: signal() };
    const server = await serve({
      getProduct: async (req, ctx) => {
        const id = req.id as "deadline" | "cancel";
        started[id].resolve();
        await callerDone[id].promise;
        await new Promise((r) => setTimeout(r, 300));
        reasons[id] = ctx.signal.aborted ? ctx.signal.reason : undefined;
        looked[id].resolve();
        return { product: product(req.id) };
      },
    });
    const c = client(server.port, { maxAttempts: 1 });
    // A deadline long enough for the call to reach the handler on a busy machine.
    const deadline = c.getProduct({ id: "deadline" }, { timeoutMs: 1_000 });
    await expect(deadline).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    callerDone.deadline.resolve();
    const ac = new AbortController();
    const cancelled = c.getProduct({ id: "cancel" }, { signal: ac.signal });
    await started.cancel.promise;
    ac.abort();
    await expect(cancelled).rejects.toMatchObject({ code: Code.Canceled });
    callerDone.cancel.resolve();
    await Promise.all([looked.deadline.promise, looked.cancel.promise]);
    expect(reasons.deadline).toMatchObject({ code: Code.DeadlineExceeded });
    expect(reasons.cancel).toMatchObject({ code: Code.Canceled });
  });
});

describe("client resilience", () => {
  it("retries idempotent methods on UNAVAILABLE", async () => {
    let calls = 0;
    const server = await serve({
      getProduct: async (req) => {
        calls++;
        if (calls < 3) throw new ConnectError("try again", Code.Unavailable);
        return { product: product(req.id) };
      },
    });
    const res = await client(server.port).getProduct({ id: "p1" });
    expect(res.product?.id).toBe("p1");
    expect(calls).toBe(3);
  });

  it("never retries a method that is not idempotent", async () => {
    let calls = 0;
    const server = await serve({
      adjustStock: async () => {
        calls++;
        throw new ConnectError("try again", Code.Unavailable);
      },
    });
    await expect(client(server.port).adjustStock({ productId: "p1", delta: 1 })).rejects.toMatchObject({ code: Code.Unavailable });
    expect(calls).toBe(1);
  });

  it("opens the breaker on a dead target and then fails fast with UNAVAILABLE", async () => {
    const server = await serve({});
    const port = server.port;
    await server.stop();
    const c = client(port, { breakerThreshold: 3, breakerHalfOpenAfterMs: 60_000, maxAttempts: 1 });
    for (let i = 0; i < 3; i++) {
      await expect(c.getProduct({ id: "p1" })).rejects.toMatchObject({ code: Code.Unavailable });
    }
    expect(breakerState(c)).toBe("open");
    const started = performance.now();
    const err = (await c.getProduct({ id: "p1" }).catch((e: unknown) => e)) as ConnectError;
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/circuit open/);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("does not open the breaker when callers' own short deadlines run out, but does when the target stalls", async () => {
    const stalled = signal();
    const server = await serve({
      getProduct: async (req) => {
        if (req.id === "slow") await stalled.promise;
        return { product: product(req.id) };
      },
    });
    cleanups.push(() => stalled.resolve()); // before the server's stop, which waits for its calls
    const c = client(server.port, { breakerThreshold: 3, breakerHalfOpenAfterMs: 60_000, maxAttempts: 1 });
    for (let i = 0; i < 5; i++) {
      await expect(c.getProduct({ id: "slow" }, { timeoutMs: 20 })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    }
    expect(breakerState(c)).toBe("closed");
    expect((await c.getProduct({ id: "p1" })).product?.id).toBe("p1");

    for (let i = 0; i < 3; i++) {
      await expect(c.getProduct({ id: "slow" }, { timeoutMs: 1_100 })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    }
    expect(breakerState(c)).toBe("open");
  });
});

describe("health", () => {
  it("answers Check per service and streams Watch until the server stops", async () => {
    const server = createGrpcServer({
      name: "test",
      host: "127.0.0.1",
      port: 0,
      logger,
      services: [serviceRegistration(CatalogService, handlers({}))],
    });
    await server.start();
    const health = createClient(Health, `127.0.0.1:${server.port}`);
    cleanups.push(() => closeClient(health));
    expect((await health.check({ service: "shop.catalog.v1.CatalogService" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expect(health.check({ service: "nope.Service" })).rejects.toMatchObject({ code: Code.NotFound });

    const seen: HealthCheckResponse_ServingStatus[] = [];
    const watching = (async () => {
      for await (const m of health.watch({ service: "shop.catalog.v1.CatalogService" })) seen.push(m.status);
    })().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    server.setServing(false);
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await server.stop();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await watching).toMatchObject({ code: Code.Unavailable });
    expect(seen).toEqual([HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING]);
  });

  it("tells a watcher NOT_SERVING before ending its stream when the server stops while SERVING", async () => {
    const server = createGrpcServer({ name: "test", host: "127.0.0.1", port: 0, logger, services: [] });
    await server.start();
    const health = createClient(Health, `127.0.0.1:${server.port}`);
    cleanups.push(() => closeClient(health));
    const watch = health.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const stopping = server.stop();
    expect((await watch.next()).value?.status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    await expect(watch.next()).rejects.toMatchObject({ code: Code.Unavailable });
    await stopping;
  });
});

describe("graceful shutdown", () => {
  it("ends an open bidi stream with UNAVAILABLE promptly", async () => {
    const server = createGrpcServer({
      name: "test",
      host: "127.0.0.1",
      port: 0,
      logger,
      services: [
        serviceRegistration(
          CatalogService,
          handlers({
            async *watchStock(requests) {
              for await (const r of requests) for (const id of r.addProductIds) yield { level: { productId: id, available: 1 } };
            },
          }),
        ),
      ],
    });
    await server.start();
    const c = client(server.port);
    let push!: (v: { addProductIds: string[] }) => void;
    async function* requests() {
      yield { addProductIds: ["a"] };
      yield await new Promise<{ addProductIds: string[] }>((r) => {
        push = r;
      });
    }
    const stream = c.watchStock(requests())[Symbol.asyncIterator]();
    expect((await stream.next()).value?.level?.productId).toBe("a");
    const started = performance.now();
    await server.stop();
    expect(performance.now() - started).toBeLessThan(2_000);
    await expect(stream.next()).rejects.toMatchObject({ code: Code.Unavailable });
    push({ addProductIds: [] });
  });

  it("ends open streams with UNAVAILABLE and lets in-flight unary calls finish", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const server = createGrpcServer({
      name: "test",
      host: "127.0.0.1",
      port: 0,
      logger,
      services: [
        serviceRegistration(
          CatalogService,
          handlers({
            getProduct: async (req) => {
              await gate;
              return { product: product(req.id) };
            },
            async *streamStock(_req, ctx) {
              yield { level: { productId: "a", available: 1 } };
              await new Promise((r) => ctx.signal.addEventListener("abort", r));
            },
          }),
        ),
      ],
    });
    await server.start();
    const c = client(server.port);
    const stream = c.streamStock({ productIds: ["a"] })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.level?.productId).toBe("a");
    const inflight = c.getProduct({ id: "slow" });
    await new Promise((r) => setTimeout(r, 50));
    const stopped = server.stop();
    setTimeout(release, 100);
    await expect(stream.next()).rejects.toMatchObject({ code: Code.Unavailable });
    await expect(inflight).resolves.toMatchObject({ product: { id: "slow" } });
    await stopped;
  });
});
