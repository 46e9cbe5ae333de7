import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { create, createFileRegistry, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  closeClient,
  createClient as createGrpcClient,
  createLogger,
  loadConfig,
  ServerReflectionV1,
  ServerReflectionV1Alpha,
} from "@shopmesh/platform";
import { waitUntil } from "@shopmesh/platform/testing";
import type { ServerReflectionRequestSchema } from "@shopmesh/proto/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflectionRequestSchema as AlphaRequestSchema } from "@shopmesh/proto/grpc/reflection/v1alpha/reflection_pb.js";
import {
  CatalogService,
  GetProductRequestSchema,
  GetProductResponseSchema,
  WatchStockRequestSchema,
  WatchStockResponseSchema,
} from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeConfigSchema, upstreamsFromConfig } from "./config.js";
import { createEdge, type Edge } from "./edge.js";
import { testEdgeSettings } from "./testing/edge-settings.js";
import { EchoService } from "./testing/echo-contract.js";
import { type FakeCatalog, type FakeEcho, startFakeCatalog, startFakeEcho, startLeakyUpstream } from "./testing/fake-upstreams.js";

const logger = createLogger({ level: "silent" });

const settings = testEdgeSettings;

/** A port nothing listens on. */
async function deadAddress(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}

async function json(res: Response): Promise<any> {
  const text = await res.text();
  return JSON.parse(text);
}

/** The ConnectError a call fails with (fails the test when it succeeds). */
function failure(p: Promise<unknown>): Promise<ConnectError> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => ConnectError.from(e),
  );
}

/** A Connect client of the runtime-built EchoService (untyped: it has no generated code). */
type EchoClient = Record<"create" | "get" | "mine", (req: object, opts?: object) => Promise<any>>;

let catalog: FakeCatalog;
let echo: FakeEcho;
let edge: Edge;
let base: string;

beforeAll(async () => {
  catalog = await startFakeCatalog(logger);
  echo = await startFakeEcho(logger);
  edge = createEdge({
    config: settings(),
    logger,
    upstreams: { [CatalogService.typeName]: catalog.address, [EchoService.typeName]: echo.address },
    services: [CatalogService, EchoService],
  });
  await edge.start();
  base = `http://127.0.0.1:${edge.port}`;
});

afterAll(async () => {
  await edge?.stop();
  await catalog?.server.stop();
  await echo?.server.stop();
});

describe("REST", () => {
  it("lists products as snake_case JSON with zero values present", async () => {
    const res = await fetch(`${base}/api/products`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await json(res);
    expect(body.next_page_token).toBe("");
    expect(body.items.map((p: { id: string }) => p.id)).toEqual(["p-beans", "p-cup", "p-free", "p-grinder", "p-crash"]);
    const free = body.items.find((p: { id: string }) => p.id === "p-free");
    expect(free).toMatchObject({
      id: "p-free",
      name: "Free sticker",
      description: "",
      price_cents: 0,
      stock: 0,
      categories: [],
      currency: "EUR",
    });
    expect(typeof free.updated_at).toBe("string");
  });

  it("pages with page_size and page_token from the query", async () => {
    const first = await json(await fetch(`${base}/api/products?page_size=2`));
    expect(first.items).toHaveLength(2);
    expect(first.next_page_token).not.toBe("");
    const second = await json(await fetch(`${base}/api/products?page_size=2&page_token=${encodeURIComponent(first.next_page_token)}`));
    expect(second.items.map((p: { id: string }) => p.id)).toEqual(["p-free", "p-grinder"]);
    const coffee = await json(await fetch(`${base}/api/products?category=coffee`));
    expect(coffee.items).toHaveLength(3);
  });

  it("gets one product as the response_body field", async () => {
    const res = await fetch(`${base}/api/products/p-cup`);
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      id: "p-cup",
      name: "Espresso cup",
      price_cents: 1200,
      stock: 5,
      categories: ["kitchen", "coffee"],
    });
  });

  it("answers 404 not_found for an unknown id", async () => {
    const res = await fetch(`${base}/api/products/nope`);
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ code: "not_found", message: "product nope not found" });
  });

  it("answers 400 invalid_argument naming the field for a bad page size or token", async () => {
    const notInt = await fetch(`${base}/api/products?page_size=abc`);
    expect(notInt.status).toBe(400);
    expect(await json(notInt)).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("page_size") });
    // These two are refused by the upstream and passed through.
    const tooBig = await fetch(`${base}/api/products?page_size=1000`);
    expect(tooBig.status).toBe(400);
    expect(await json(tooBig)).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("page_size") });
    const badToken = await fetch(`${base}/api/products?page_token=garbage`);
    expect(badToken.status).toBe(400);
    expect(await json(badToken)).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("page_token") });
  });

  it("refuses unknown query parameters (with their field violation) and repeated singular ones", async () => {
    const unknown = await fetch(`${base}/api/products?colour=red`);
    expect(unknown.status).toBe(400);
    expect(await json(unknown)).toMatchObject({
      message: expect.stringContaining("colour"),
      field_violations: [{ field: "colour", description: "unknown query parameter" }],
    });
    const twice = await fetch(`${base}/api/products?page_size=1&page_size=2`);
    expect(twice.status).toBe(400);
  });

  it("answers 404 JSON for an unknown /api route and 405 with Allow for a wrong method", async () => {
    const unknown = await fetch(`${base}/api/nothing/here`);
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ code: "not_found" });
    const wrong = await fetch(`${base}/api/products`, { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    expect(await json(wrong)).toMatchObject({ code: "unimplemented" });
  });

  it("hides an unexpected upstream error behind 500 internal error", async () => {
    const res = await fetch(`${base}/api/products/p-crash`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ code: "internal", message: "internal error" });
    expect(text).not.toMatch(/hunter2|ECONNREFUSED|\/srv\/|at /);
  });

  it("decodes a JSON body with snake_case or camelCase keys, enum words, and answers success_status", async () => {
    const res = await fetch(`${base}/api/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: "a",
        qty: 3,
        tags: ["x", "y"],
        color: "deep_blue",
        inner: { shade: "red" },
        colors: ["red", "COLOR_DEEP_BLUE"],
        idempotencyKey: "k1",
        big: "12",
      }),
    });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toMatchObject({
      name: "a",
      qty: 3,
      tags: ["x", "y"],
      color: "deep_blue",
      inner: { shade: "red" },
      colors: ["red", "deep_blue"],
      idempotency_key: "k1",
      big: "12",
      flag: false,
    });
  });

  it("renders enum zero values as words and accepts an empty body", async () => {
    const res = await fetch(`${base}/api/echo`, { method: "POST" });
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ name: "", qty: 0, color: "unspecified", tags: [] });
  });

  it("fills a field from the Idempotency-Key header, over the body", async () => {
    const res = await fetch(`${base}/api/echo`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "from-header" },
      body: JSON.stringify({ idempotency_key: "from-body" }),
    });
    expect((await json(res)).idempotency_key).toBe("from-header");
  });

  it("fills path and typed query parameters, repeated keys and dotted paths", async () => {
    const res = await fetch(
      `${base}/api/echo/hello%20world?qty=5&tags=a&tags=b&color=red&inner.shade=deep_blue&big=9007199254740993&flag=true`,
    );
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      name: "hello world",
      qty: 5,
      tags: ["a", "b"],
      color: "red",
      inner: { shade: "deep_blue" },
      big: "9007199254740993",
      flag: true,
    });
    const badEnum = await fetch(`${base}/api/echo/x?color=purple`);
    expect(badEnum.status).toBe(400);
    expect((await json(badEnum)).message).toContain("color");
  });

  it("answers 400 for malformed JSON, a non-object body, and an unknown field or bad value (named, with its field violation)", async () => {
    const post = (body: string) => fetch(`${base}/api/echo`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const malformed = await post("{nope");
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toMatchObject({ code: "invalid_argument" });
    expect((await post("[1,2]")).status).toBe(400);
    const unknown = await post('{"name":"a","surprise":1}');
    expect(unknown.status).toBe(400);
    expect(await json(unknown)).toMatchObject({
      message: expect.stringContaining("surprise"),
      field_violations: [{ field: "surprise", description: "unknown field" }],
    });
    const badValue = await post('{"qty":"many"}');
    expect(badValue.status).toBe(400);
    expect(await json(badValue)).toMatchObject({
      message: expect.stringContaining("qty"),
      field_violations: [{ field: "qty", description: expect.stringContaining("invalid value") }],
    });
  });

  it("answers 413 for a body over the limit, by Content-Length or while reading", async () => {
    const big = JSON.stringify({ name: "x".repeat(2_000) });
    const declared = await fetch(`${base}/api/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(declared.status).toBe(413);
    expect(await json(declared)).toMatchObject({ code: "resource_exhausted" });

    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${base}/api/echo`,
        { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } },
        (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.write(big.slice(0, 600));
      req.write(big.slice(600));
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ code: "resource_exhausted" });
  });

  it("answers 415 for a body that is not JSON", async () => {
    const res = await fetch(`${base}/api/echo`, { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" });
    expect(res.status).toBe(415);
  });

  it("requires a bearer token for ACCESS_USER routes and forwards it", async () => {
    const none = await fetch(`${base}/api/me/echo`);
    expect(none.status).toBe(401);
    expect(await json(none)).toMatchObject({ code: "unauthenticated" });
    const basic = await fetch(`${base}/api/me/echo`, { headers: { authorization: "Basic dTpw" } });
    expect(basic.status).toBe(401);
    const ok = await fetch(`${base}/api/me/echo`, { headers: { authorization: "Bearer abc.def.ghi" } });
    expect(ok.status).toBe(200);
    expect((await json(ok)).authorization).toBe("Bearer abc.def.ghi");
  });

  it("forwards x-request-id (given or generated) and a deadline within the request timeout", async () => {
    const given = await fetch(`${base}/api/echo/a`, { headers: { "x-request-id": "req-123" } });
    expect(given.headers.get("x-request-id")).toBe("req-123");
    const body = await json(given);
    expect(body.request_id).toBe("req-123");
    expect(body.deadline_ms).toBeGreaterThan(0);
    expect(body.deadline_ms).toBeLessThanOrEqual(5_000);
    const generated = await fetch(`${base}/api/echo/a`);
    const id = generated.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await json(generated)).request_id).toBe(id);
  });

  it("cancels the upstream call when the client goes away", async () => {
    const ac = new AbortController();
    const p = fetch(`${base}/api/echo/slow`, { signal: ac.signal }).catch((e: unknown) => e);
    setTimeout(() => ac.abort(), 100);
    await p;
    await waitUntil(() => echo.aborted.some((a) => a.startsWith("Get:")));
  });

  it("serves REST over cleartext HTTP/2 on the same port", async () => {
    const session = http2.connect(base);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ":path": "/api/products/p-cup", ":method": "GET" });
        let status = 0;
        let body = "";
        req.on("response", (h) => (status = Number(h[":status"])));
        req.on("data", (c) => (body += c));
        req.on("end", () => resolve({ status, body }));
        req.on("error", reject);
      });
      expect(status).toBe(200);
      expect(JSON.parse(body)).toMatchObject({ id: "p-cup" });
    } finally {
      session.close();
    }
  });
});

describe("Connect, gRPC-Web and gRPC", () => {
  it("answers Connect JSON unary calls (curl-style)", async () => {
    const res = await fetch(`${base}/shop.catalog.v1.CatalogService/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "p-cup" }),
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ product: { id: "p-cup", priceCents: 1200, stock: 5 } });
    const missing = await fetch(`${base}/shop.catalog.v1.CatalogService/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "nope" }),
    });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toMatchObject({ code: "not_found" });
  });

  it("answers 400 for malformed Connect JSON and 413 for a body over the limit", async () => {
    const url = `${base}/shop.catalog.v1.CatalogService/GetProduct`;
    const malformed = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toMatchObject({ code: "invalid_argument" });
    const big = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "x".repeat(2_000) }),
    });
    expect(big.status).toBe(413);
    expect(await json(big)).toMatchObject({ code: "resource_exhausted" });
  });

  it("passes upstream codes through a Connect client and hides internals", async () => {
    const client = createClient(CatalogService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" }));
    const res = await client.getProduct({ id: "p-beans" });
    expect(res.product?.name).toBe("Coffee beans");
    await expect(client.getProduct({ id: "nope" })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(client.listProducts({ pageSize: 1000 })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: expect.stringContaining("page_size"),
    });
    const err = await failure(client.getProduct({ id: "p-crash" }));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("internal error");
  });

  it("does not expose internal methods", async () => {
    const res = await fetch(`${base}/shop.catalog.v1.CatalogService/ReserveStock`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(404);
    const internal = await fetch(`${base}/test.echo.v1.EchoService/Internal`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(internal.status).toBe(404);
  });

  it("requires a bearer token for ACCESS_USER methods over Connect", async () => {
    const client = createClient(EchoService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" })) as unknown as EchoClient;
    await expect(client.mine({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    const res = await client.mine({}, { headers: { authorization: "Bearer t0k3n" } });
    expect(res.authorization).toBe("Bearer t0k3n");
  });

  it("passes the client's timeout on as the upstream deadline and cancels on abort", async () => {
    const client = createClient(EchoService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" })) as unknown as EchoClient;
    const res = await client.get({ name: "d" }, { timeoutMs: 300 });
    expect(res.echo.deadlineMs).toBeGreaterThan(0);
    expect(res.echo.deadlineMs).toBeLessThanOrEqual(300);
    const before = echo.aborted.length;
    await expect(client.create({ name: "slow" }, { timeoutMs: 150 })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    await waitUntil(() => echo.aborted.slice(before).some((a) => a.startsWith("Create:")));
  });

  it("answers a gRPC-Web call", async () => {
    const client = createClient(CatalogService, createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }));
    const res = await client.getProduct({ id: "p-grinder" });
    expect(res.product?.priceCents).toBe(8900);
    await expect(client.getProduct({ id: "nope" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("answers a stock @grpc/grpc-js client over h2c, unary and bidi", async () => {
    const client = new grpc.Client(`127.0.0.1:${edge.port}`, grpc.credentials.createInsecure());
    try {
      const product = await new Promise<any>((resolve, reject) =>
        client.makeUnaryRequest(
          "/shop.catalog.v1.CatalogService/GetProduct",
          (m: unknown) => Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, m as { id: string }))),
          (b: Buffer) => fromBinary(GetProductResponseSchema, b),
          { id: "p-cup" },
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
      expect(product.product.name).toBe("Espresso cup");
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        client.makeUnaryRequest(
          "/shop.catalog.v1.CatalogService/GetProduct",
          (m: unknown) => Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, m as { id: string }))),
          (b: Buffer) => fromBinary(GetProductResponseSchema, b),
          { id: "nope" },
          (e) => resolve(e as grpc.ServiceError),
        ),
      );
      expect(err.code).toBe(grpc.status.NOT_FOUND);

      // Bidi WatchStock: subscribe, see a change, unsubscribe, see nothing more.
      const call = client.makeBidiStreamRequest(
        "/shop.catalog.v1.CatalogService/WatchStock",
        (m: unknown) => Buffer.from(toBinary(WatchStockRequestSchema, create(WatchStockRequestSchema, m as object))),
        (b: Buffer) => fromBinary(WatchStockResponseSchema, b),
      );
      const seen: number[] = [];
      call.on("data", (m: { level?: { available: number } }) => seen.push(m.level?.available ?? -1));
      const ended = new Promise<void>((resolve) => call.on("status", () => resolve()));
      call.on("error", () => undefined);
      call.write({ addProductIds: ["p-grinder"] });
      await waitUntil(() => seen.length === 1);
      expect(seen).toEqual([3]);
      catalog.adjust("p-grinder", -1);
      await waitUntil(() => seen.length === 2);
      expect(seen[1]).toBe(2);
      call.write({ removeProductIds: ["p-grinder"] });
      await new Promise((r) => setTimeout(r, 50));
      catalog.adjust("p-grinder", 1);
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toHaveLength(2);
      call.end();
      await ended;
    } finally {
      client.close();
    }
  });

  it("answers gRPC server reflection (v1 and v1alpha) with the public surface only", async () => {
    const reflection = createGrpcClient(ServerReflectionV1, `127.0.0.1:${edge.port}`);
    const client = new grpc.Client(`127.0.0.1:${edge.port}`, grpc.credentials.createInsecure());
    try {
      async function* requests(): AsyncIterable<MessageInitShape<typeof ServerReflectionRequestSchema>> {
        yield { messageRequest: { case: "listServices", value: "" } };
        yield { messageRequest: { case: "fileContainingSymbol", value: "shop.catalog.v1.CatalogService" } };
        yield { messageRequest: { case: "fileContainingSymbol", value: "shop.catalog.v1.CatalogService.ReserveStock" } };
        yield { messageRequest: { case: "fileContainingSymbol", value: "no.such.Symbol" } };
        yield { messageRequest: { case: "fileContainingSymbol", value: "shop.ops.v1.OperationsConsoleService.GetInvariants" } };
      }
      const answers = [];
      for await (const a of reflection.serverReflectionInfo(requests())) answers.push(a.messageResponse);
      expect(answers.map((a) => a.case)).toEqual([
        "listServicesResponse",
        "fileDescriptorResponse",
        "errorResponse",
        "errorResponse",
        "fileDescriptorResponse",
      ]);
      const [list, file, hidden, unknown, consoleFile] = answers;
      // The console's file describes GetInvariants (the listing above shows which of its services the edge serves).
      if (consoleFile?.case !== "fileDescriptorResponse") throw new Error("expected the console's file");
      const ops = consoleFile.value.fileDescriptorProto
        .map((b) => fromBinary(FileDescriptorProtoSchema, b))
        .find((p) => p.name === "shop/ops/v1/ops.proto");
      const consoleService = ops?.service.find((s) => s.name === "OperationsConsoleService");
      expect(consoleService?.method.map((m) => m.name)).toContain("GetInvariants");
      expect(list?.case === "listServicesResponse" && list.value.service.map((s) => s.name)).toEqual([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "shop.catalog.v1.CatalogService",
        // Served by the edge itself over its upstreams' OperationsService.
        "shop.ops.v1.OperationsConsoleService",
        "test.echo.v1.EchoService",
      ]);
      expect(hidden?.case === "errorResponse" && hidden.value.errorCode).toBe(Code.NotFound);
      expect(unknown?.case === "errorResponse" && unknown.value.errorCode).toBe(Code.NotFound);
      if (file?.case !== "fileDescriptorResponse") throw new Error("expected files");
      const protos = file.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
      expect(protos.map((p) => p.name)).toEqual(
        expect.arrayContaining(["shop/catalog/v1/catalog.proto", "shop/api/v1/annotations.proto", "google/protobuf/timestamp.proto"]),
      );
      expect(protos.find((p) => p.name === "shop/catalog/v1/catalog.proto")?.service[0]?.method.map((m) => m.name)).toEqual([
        "ListProducts",
        "GetProduct",
        "BatchGetProducts",
        "WatchStock",
        "StreamStock",
        "AdjustStock",
        "CreateProduct",
        "UpdateProduct",
        "ArchiveProduct",
        "ListPriceChanges",
        "ListStockBooks",
        "ListStockAdjustments",
      ]);

      // A reflective client can call through the edge with nothing but those descriptors
      // (dependencies come first, the order a registry loads them in).
      const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: protos }));
      const getProduct = registry.getService("shop.catalog.v1.CatalogService")!.methods.find((m) => m.name === "GetProduct")!;
      const product = await new Promise<any>((resolve, reject) =>
        client.makeUnaryRequest(
          "/shop.catalog.v1.CatalogService/GetProduct",
          (m: unknown) => Buffer.from(toBinary(getProduct.input, create(getProduct.input, m as Record<string, unknown>))),
          (b: Buffer) => fromBinary(getProduct.output, b),
          { id: "p-cup" },
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
      expect(product.product.name).toBe("Espresso cup");

      // Older clients (grpcurl before v1) ask v1alpha.
      const alpha = createGrpcClient(ServerReflectionV1Alpha, `127.0.0.1:${edge.port}`);
      try {
        async function* listServices(): AsyncIterable<MessageInitShape<typeof AlphaRequestSchema>> {
          yield { messageRequest: { case: "listServices", value: "" } };
        }
        const names = [];
        for await (const a of alpha.serverReflectionInfo(listServices())) {
          if (a.messageResponse.case === "listServicesResponse") names.push(...a.messageResponse.value.service.map((s) => s.name));
        }
        expect(names).toContain("shop.catalog.v1.CatalogService");
      } finally {
        closeClient(alpha);
      }
    } finally {
      closeClient(reflection);
      client.close();
    }
  });

  it("server-streams StreamStock through Connect", async () => {
    const client = createClient(CatalogService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" }));
    const ac = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const m of client.streamStock({ productIds: ["p-beans"] }, { signal: ac.signal })) {
        seen.push(m.level?.available ?? -1);
      }
    })().catch((e: unknown) => ConnectError.from(e));
    await waitUntil(() => seen.length === 1);
    expect(seen).toEqual([40]);
    catalog.adjust("p-beans", -2);
    await waitUntil(() => seen.length === 2);
    expect(seen[1]).toBe(38);
    ac.abort();
    expect(await done).toMatchObject({ code: Code.Canceled });
    await waitUntil(() => catalog.cancelled.includes("StreamStock"));
  });

  it("serves Connect over HTTP/2 as well (bidi WatchStock)", async () => {
    const client = createClient(CatalogService, createConnectTransport({ baseUrl: base, httpVersion: "2" }));
    async function* requests() {
      yield { addProductIds: ["p-cup"] };
      await new Promise((r) => setTimeout(r, 100));
    }
    const seen: number[] = [];
    for await (const m of client.watchStock(requests())) seen.push(m.level?.available ?? -1);
    expect(seen).toEqual([5]);
  });
});

describe("health and CORS", () => {
  it("answers /healthz and /readyz", async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await json(health)).toEqual({ status: "ok" });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await json(ready)).toEqual({
      status: "ok",
      services: { [CatalogService.typeName]: "SERVING", [EchoService.typeName]: "SERVING" },
    });
  });

  it("answers a CORS preflight with the Connect headers", async () => {
    const res = await fetch(`${base}/shop.catalog.v1.CatalogService/GetProduct`, {
      method: "OPTIONS",
      headers: {
        origin: "https://shop.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    const allowHeaders = res.headers.get("access-control-allow-headers")?.toLowerCase() ?? "";
    for (const h of ["content-type", "connect-protocol-version", "authorization", "x-grpc-web"]) expect(allowHeaders).toContain(h);
    const actual = await fetch(`${base}/api/products/p-cup`, { headers: { origin: "https://shop.example" } });
    expect(actual.headers.get("access-control-allow-origin")).toBe("*");
    expect(actual.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("grpc-status");
  });
});

describe("failing upstreams", () => {
  let down: Edge;
  let leaky: Edge;
  let leakyUpstream: { address: string; stop(): Promise<void> };
  let tight: Edge;

  beforeAll(async () => {
    down = createEdge({
      config: settings({ CORS_ORIGINS: ["https://shop.example"] }),
      logger,
      upstreams: { [CatalogService.typeName]: await deadAddress(), [EchoService.typeName]: echo.address },
      services: [CatalogService, EchoService],
      readinessTimeoutMs: 300,
    });
    await down.start();
    leakyUpstream = await startLeakyUpstream(CatalogService, grpc.status.UNKNOWN);
    leaky = createEdge({
      config: settings(),
      logger,
      upstreams: { [CatalogService.typeName]: leakyUpstream.address },
      services: [CatalogService],
    });
    await leaky.start();
    tight = createEdge({
      config: settings({ EDGE_REQUEST_TIMEOUT_MS: 200 }),
      logger,
      upstreams: { [EchoService.typeName]: echo.address },
      services: [EchoService],
    });
    await tight.start();
  });

  afterAll(async () => {
    await down?.stop();
    await leaky?.stop();
    await leakyUpstream?.stop();
    await tight?.stop();
  });

  it("answers 503 unavailable when the upstream is down, without its address", async () => {
    const res = await fetch(`${down.url}/api/products/p-cup`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ code: "unavailable", message: "service unavailable" });
    expect(text).not.toContain("127.0.0.1");
    const client = createClient(CatalogService, createConnectTransport({ baseUrl: down.url, httpVersion: "1.1" }));
    await expect(client.getProduct({ id: "p-cup" })).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("answers /readyz 503 naming the service that is down", async () => {
    const res = await fetch(`${down.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await json(res)).toEqual({
      status: "unavailable",
      services: { [CatalogService.typeName]: "UNREACHABLE", [EchoService.typeName]: "SERVING" },
    });
  });

  it("hides internals of an upstream that leaks them (UNKNOWN → 500 internal error)", async () => {
    const res = await fetch(`${leaky.url}/api/products/p-cup`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ code: "internal", message: "internal error" });
    const client = createClient(CatalogService, createGrpcWebTransport({ baseUrl: leaky.url, httpVersion: "1.1" }));
    const err = await failure(client.getProduct({ id: "p-cup" }));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("internal error");
  });

  it("answers 504 when the per-request deadline passes", async () => {
    const res = await fetch(`${tight.url}/api/echo/slow`);
    expect(res.status).toBe(504);
    expect(await json(res)).toEqual({ code: "deadline_exceeded", message: "deadline exceeded" });
  });

  it("applies CORS_ORIGINS", async () => {
    const preflight = (origin: string) =>
      fetch(`${down.url}/api/products`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET" } });
    const allowed = await preflight("https://shop.example");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://shop.example");
    expect(allowed.headers.get("vary")).toContain("Origin");
    const refused = await preflight("https://evil.example");
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("slow clients", () => {
  const headersTimeoutMs = 200;
  const requestTimeoutMs = 300;
  let slow: Edge;

  beforeAll(async () => {
    slow = createEdge({
      config: settings({ EDGE_HEADERS_TIMEOUT_MS: headersTimeoutMs, EDGE_REQUEST_TIMEOUT_MS: requestTimeoutMs }),
      logger,
      upstreams: { [CatalogService.typeName]: catalog.address },
      services: [CatalogService],
    });
    await slow.start();
  });

  afterAll(async () => {
    await slow?.stop();
  });

  /** Opens a raw connection, sends `bytes`, and resolves with what came back and when it was closed. */
  async function rawExchange(bytes: string): Promise<{ received: string; closedAfterMs: number }> {
    const socket = net.connect(slow.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const started = Date.now();
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => undefined);
    if (bytes) socket.write(bytes);
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    return { received, closedAfterMs: Date.now() - started };
  }

  it("closes a connection that sends half a request line, with 408, within EDGE_HEADERS_TIMEOUT_MS", async () => {
    const { received, closedAfterMs } = await rawExchange("GET /api/prod");
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeGreaterThanOrEqual(headersTimeoutMs - 20);
    expect(closedAfterMs).toBeLessThan(headersTimeoutMs + 500);
  });

  it("does the same on a keep-alive connection once it has answered a request", async () => {
    const socket = net.connect(slow.port, "127.0.0.1");
    socket.on("error", () => undefined);
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
    socket.write("GET /healthz HTTP/1.1\r\nhost: edge\r\n\r\n");
    await waitUntil(() => received.includes('{"status":"ok"}'));
    const started = Date.now();
    socket.write("GET /api/prod");
    expect((await closed) - started).toBeLessThan(headersTimeoutMs + 500);
    expect(received).toMatch(/^HTTP\/1\.1 200 .*HTTP\/1\.1 408 /s);
  });

  it("closes a connection that trickles its headers", async () => {
    const socket = net.connect(slow.port, "127.0.0.1");
    socket.on("error", () => undefined);
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
    const started = Date.now();
    const trickle = setInterval(() => socket.write("x-slow: 1\r\n"), 50);
    socket.write("GET /healthz HTTP/1.1\r\nhost: edge\r\n");
    try {
      expect((await closed) - started).toBeLessThan(headersTimeoutMs + 500);
    } finally {
      clearInterval(trickle);
    }
  });

  it("drops a connection that sends nothing, or half an HTTP/2 preface", async () => {
    for (const bytes of ["", "PRI * HTTP/2.0\r\n"]) {
      const { received, closedAfterMs } = await rawExchange(bytes);
      // Nothing in HTTP/1.1 (the HTTP/2 session may have sent its SETTINGS).
      expect(received).not.toMatch(/^HTTP/);
      expect(closedAfterMs).toBeLessThan(headersTimeoutMs + 500);
    }
  });

  it("answers 408 and closes when the body is not received within the request timeout", async () => {
    const { received, closedAfterMs } = await rawExchange(
      'POST /shop.catalog.v1.CatalogService/GetProduct HTTP/1.1\r\nhost: edge\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"id":',
    );
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received.toLowerCase()).toContain("connection: close");
    expect(closedAfterMs).toBeGreaterThanOrEqual(requestTimeoutMs - 20);
    expect(closedAfterMs).toBeLessThan(requestTimeoutMs + 500);
  });

  it("leaves alone long streams, keep-alive requests and HTTP/2 sessions that outlive the timeouts", async () => {
    // A server stream over HTTP/1.1 lasts as long as it needs.
    const client = createClient(CatalogService, createConnectTransport({ baseUrl: slow.url, httpVersion: "1.1" }));
    const ac = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const m of client.streamStock({ productIds: ["p-cup"] }, { signal: ac.signal })) seen.push(m.level?.available ?? -1);
    })().catch((e: unknown) => ConnectError.from(e));
    await waitUntil(() => seen.length === 1);
    await new Promise((r) => setTimeout(r, requestTimeoutMs + 200));
    catalog.adjust("p-cup", 1);
    await waitUntil(() => seen.length === 2);
    catalog.adjust("p-cup", -1);
    ac.abort();
    expect(await done).toMatchObject({ code: Code.Canceled });

    // A keep-alive connection answers again after a pause shorter than the keep-alive timeout.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const get = () =>
        new Promise<{ status: number; socket: net.Socket }>((resolve, reject) => {
          const req = http.get(`${slow.url}/healthz`, { agent }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, socket: req.socket as net.Socket }));
          });
          req.on("error", reject);
        });
      const first = await get();
      await new Promise((r) => setTimeout(r, headersTimeoutMs / 2));
      const second = await get();
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.socket).toBe(first.socket);
    } finally {
      agent.destroy();
    }

    // An HTTP/2 session stays open while idle.
    const session = http2.connect(slow.url);
    try {
      const get = () =>
        new Promise<number>((resolve, reject) => {
          const req = session.request({ ":path": "/healthz" });
          req.on("response", (h) => resolve(Number(h[":status"])));
          req.on("error", reject);
          req.resume();
        });
      expect(await get()).toBe(200);
      await new Promise((r) => setTimeout(r, headersTimeoutMs * 2));
      expect(session.closed || session.destroyed).toBe(false);
      expect(await get()).toBe(200);
    } finally {
      session.close();
    }
  });
});

describe("lifecycle", () => {
  it("reads its configuration from the environment", () => {
    const config = loadConfig(edgeConfigSchema, { CATALOG_ADDR: "catalog:50051", EDGE_MAX_BODY_BYTES: "2048" });
    expect(config.EDGE_PORT).toBe(8080);
    expect(config.EDGE_HOST).toBe("0.0.0.0");
    expect(config.CORS_ORIGINS).toEqual(["*"]);
    expect(config.EDGE_MAX_BODY_BYTES).toBe(2048);
    expect(config.EDGE_HEADERS_TIMEOUT_MS).toBe(10_000);
    expect(upstreamsFromConfig(config)).toEqual({ "shop.catalog.v1.CatalogService": "catalog:50051" });
    expect(() => loadConfig(edgeConfigSchema, { CART_ADDR: "no-port" })).toThrow(/CART_ADDR/);
  });

  it("loads service descriptors from the contracts package when none are given", async () => {
    const e = createEdge({ config: settings(), logger, upstreams: { [CatalogService.typeName]: catalog.address } });
    await e.start();
    try {
      const res = await fetch(`${e.url}/api/products/p-cup`);
      expect(res.status).toBe(200);
    } finally {
      await e.stop();
    }
  });

  it("stops gracefully: ends open streams, closes idle connections, refuses new ones", async () => {
    const e = createEdge({
      config: settings(),
      logger,
      upstreams: { [CatalogService.typeName]: catalog.address },
      services: [CatalogService],
    });
    await e.start();
    const client = createClient(CatalogService, createConnectTransport({ baseUrl: e.url, httpVersion: "1.1" }));
    const seen: number[] = [];
    const streamDone = (async () => {
      for await (const m of client.streamStock({ productIds: ["p-cup"] })) seen.push(m.level?.available ?? -1);
    })().then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    // A bidi stream over HTTP/2 from a grpc-js client.
    const grpcClient = new grpc.Client(`127.0.0.1:${e.port}`, grpc.credentials.createInsecure());
    const bidi = grpcClient.makeBidiStreamRequest(
      "/shop.catalog.v1.CatalogService/WatchStock",
      (m: unknown) => Buffer.from(toBinary(WatchStockRequestSchema, create(WatchStockRequestSchema, m as object))),
      (b: Buffer) => fromBinary(WatchStockResponseSchema, b),
    );
    const bidiSeen: unknown[] = [];
    bidi.on("data", (m: unknown) => bidiSeen.push(m));
    bidi.on("error", () => undefined);
    const bidiStatus = new Promise<grpc.StatusObject>((resolve) => bidi.on("status", resolve));
    bidi.write({ addProductIds: ["p-cup"] });
    await waitUntil(() => seen.length === 1 && bidiSeen.length === 1);
    // An idle keep-alive connection.
    expect((await fetch(`${e.url}/healthz`)).status).toBe(200);
    const started = Date.now();
    await e.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await streamDone).toMatchObject({ code: Code.Unavailable });
    expect((await bidiStatus).code).toBe(grpc.status.UNAVAILABLE);
    grpcClient.close();
    await expect(fetch(`${e.url}/healthz`)).rejects.toThrow();
  });
});
