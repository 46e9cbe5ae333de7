import * as http2 from "node:http2";
import { Code, type ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { createLogger, fieldViolationsOf } from "@shopmesh/platform";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "../edge.js";
import { EchoService } from "../testing/echo-contract.js";
import { testEdgeSettings } from "../testing/edge-settings.js";
import { type FakeCatalog, type FakeEcho, startFakeCatalog, startFakeEcho } from "../testing/fake-upstreams.js";

const logger = createLogger({ level: "silent" });

/** A body that is no GetProductRequest: field 1 announced as a length-delimited string of 100 bytes, then nothing. */
const garbage = Uint8Array.from([0x0a, 0x64]);

/** The fields an INVALID_ARGUMENT names in its BadRequest detail; fails on any other error. */
function violatedFields(err: ConnectError | undefined): string[] {
  expect(err?.code).toBe(Code.InvalidArgument);
  return err ? fieldViolationsOf(err).map((v) => v.field) : [];
}

/** The trailers of one gRPC call over HTTP/2 (the headers of a trailers-only answer). */
function grpcTrailers(base: string, path: string, contentType: string, body: Uint8Array): Promise<Headers> {
  const session = http2.connect(base);
  return new Promise<Headers>((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers" });
    const seen = new Headers();
    const keep = (h: http2.IncomingHttpHeaders) => {
      for (const [k, v] of Object.entries(h)) if (k.startsWith("grpc-")) seen.set(k, String(v));
    };
    req.on("response", keep);
    req.on("trailers", keep);
    req.on("end", () => resolve(seen));
    req.on("error", reject);
    req.resume();
    req.end(body);
  }).finally(() => session.close());
}

describe("a request body that is not the method's message", () => {
  let catalog: FakeCatalog;
  let echo: FakeEcho;
  let edge: Edge;
  let base: string;

  beforeAll(async () => {
    catalog = await startFakeCatalog(logger);
    echo = await startFakeEcho(logger);
    edge = createEdge({
      config: testEdgeSettings(),
      logger,
      // Requests refused for their body never reach the order service: nothing listens there.
      upstreams: {
        [CatalogService.typeName]: catalog.address,
        [EchoService.typeName]: echo.address,
        [OrderService.typeName]: "127.0.0.1:1",
      },
      services: [CatalogService, EchoService, OrderService],
      webApp: false,
    });
    await edge.start();
    base = `http://127.0.0.1:${edge.port}`;
  });

  afterAll(async () => {
    await edge?.stop();
    await catalog?.server.stop();
    await echo?.server.stop();
  });

  it("names the field of a JSON value of the wrong type or an unknown key over Connect unary, as a BadRequest detail", async () => {
    const create = async (body: string) => {
      const res = await fetch(`${base}/test.echo.v1.EchoService/Create`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { status: res.status, bytes, err: res.ok ? undefined : errorFromJsonBytes(bytes, undefined, new Error() as never) };
    };
    for (const [body, field] of [
      ['{"qty":"many"}', "qty"],
      ['{"name":5}', "name"],
      ['{"tags":["a",1]}', "tags"],
      ['{"inner":7}', "inner"],
      ['{"surprise":1}', "surprise"],
      ['{"inner":{"hue":1}}', "inner.hue"],
    ] as const) {
      const { status, err } = await create(body);
      expect(status, body).toBe(400);
      expect(violatedFields(err), body).toEqual([field]);
      expect(err?.rawMessage, body).toMatch(new RegExp(`^${field.replace(".", "\\.")}: `));
    }
    // Whatever names no one field stays a plain INVALID_ARGUMENT: malformed JSON, an enum name
    // the error cannot tie to one field (color, colors and inner.shade share the enum).
    for (const body of ["{nope", '{"color":"COLOR_PURPLE"}']) {
      const { status, err } = await create(body);
      expect(status, body).toBe(400);
      expect(violatedFields(err), body).toEqual([]);
    }

    const ok = await create('{"name":"mug","qty":2,"inner":{"shade":"COLOR_RED"}}');
    expect(ok.status).toBe(200);
    expect(JSON.parse(Buffer.from(ok.bytes).toString())).toMatchObject({ name: "mug", qty: 2 });
  });

  it("names a field of a submessage of a real contract by its proto path", async () => {
    const res = await fetch(`${base}/shop.order.v1.OrderService/PlaceOrder`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"payment":{"cardNumber":4242424242424242}}',
    });
    expect(res.status).toBe(400);
    const err = errorFromJsonBytes(new Uint8Array(await res.arrayBuffer()), undefined, new Error() as never);
    expect(violatedFields(err)).toEqual(["payment.card_number"]);
  });

  it("names the field in a Connect stream's end message, in gRPC-Web trailers and in gRPC trailers", async () => {
    const stream = await fetch(`${base}/shop.catalog.v1.CatalogService/StreamStock`, {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: encodeEnvelope(0, Buffer.from('{"productIds":["p-cup",7]}')),
    });
    const end = Buffer.from(await stream.arrayBuffer());
    expect(end[0]).toBe(0x02);
    const { error } = JSON.parse(end.subarray(5).toString("utf8"));
    expect(violatedFields(errorFromJsonBytes(Buffer.from(JSON.stringify(error)), undefined, new Error() as never))).toEqual([
      "product_ids",
    ]);

    const web = await fetch(`${base}/test.echo.v1.EchoService/Create`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+json", "x-grpc-web": "1" },
      body: encodeEnvelope(0, Buffer.from('{"qty":"many"}')),
    });
    const webBody = new Uint8Array(await web.arrayBuffer());
    const webTrailer = webBody[0] === 0x80 ? trailerParse(webBody.subarray(5)) : new Headers(web.headers);
    expect(violatedFields(findTrailerError(webTrailer))).toEqual(["qty"]);

    const grpc = await grpcTrailers(
      base,
      "/test.echo.v1.EchoService/Create",
      "application/grpc+json",
      encodeEnvelope(0, Buffer.from('{"inner":{"hue":1}}')),
    );
    expect(violatedFields(findTrailerError(grpc))).toEqual(["inner.hue"]);
  });

  it("is invalid_argument (400) over Connect unary, with a body the length it says", async () => {
    const res = await fetch(`${base}/shop.catalog.v1.CatalogService/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: garbage,
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(Number(res.headers.get("content-length"))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toMatchObject({ code: "invalid_argument" });
    // A well-formed request still works.
    const ok = await fetch(`${base}/shop.catalog.v1.CatalogService/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "p-cup" }),
    });
    expect(ok.status).toBe(200);
  });

  it("is INVALID_ARGUMENT over gRPC-Web and gRPC, and in a Connect stream's end message", async () => {
    const web = await fetch(`${base}/shop.catalog.v1.CatalogService/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: encodeEnvelope(0, garbage),
    });
    const webBody = Buffer.from(await web.arrayBuffer()).toString("latin1");
    const webStatus = web.headers.get("grpc-status") ?? /grpc-status: *(\d+)/i.exec(webBody)?.[1];
    expect(webStatus).toBe("3");

    const stream = await fetch(`${base}/shop.catalog.v1.CatalogService/StreamStock`, {
      method: "POST",
      headers: { "content-type": "application/connect+proto" },
      body: encodeEnvelope(0, garbage),
    });
    const end = Buffer.from(await stream.arrayBuffer());
    expect(end[0]).toBe(0x02);
    expect(JSON.parse(end.subarray(5).toString("utf8"))).toMatchObject({ error: { code: "invalid_argument" } });

    const session = http2.connect(base);
    try {
      const status = await new Promise<string>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": "/shop.catalog.v1.CatalogService/GetProduct",
          "content-type": "application/grpc",
          te: "trailers",
        });
        let seen: string | undefined;
        req.on("response", (h) => {
          if (h["grpc-status"] !== undefined) seen = String(h["grpc-status"]);
        });
        req.on("trailers", (t) => {
          seen = String(t["grpc-status"]);
        });
        req.on("end", () => resolve(seen ?? "none"));
        req.on("error", reject);
        req.resume();
        req.end(encodeEnvelope(0, garbage));
      });
      expect(status).toBe("3");
    } finally {
      session.close();
    }
  });
});
