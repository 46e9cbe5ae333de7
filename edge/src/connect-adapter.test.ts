import * as http2 from "node:http2";
import { createLogger } from "@shopmesh/platform";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "./edge.js";
import { testEdgeSettings } from "./testing/edge-settings.js";
import { type FakeCatalog, startFakeCatalog } from "./testing/fake-upstreams.js";

const logger = createLogger({ level: "silent" });

/** A body that is no GetProductRequest: field 1 announced as a length-delimited string of 100 bytes, then nothing. */
const garbage = Uint8Array.from([0x0a, 0x64]);

function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

describe("a request body that is not the method's message", () => {
  let catalog: FakeCatalog;
  let edge: Edge;
  let base: string;

  beforeAll(async () => {
    catalog = await startFakeCatalog(logger);
    edge = createEdge({
      config: testEdgeSettings(),
      logger,
      upstreams: { [CatalogService.typeName]: catalog.address },
      services: [CatalogService],
      webApp: false,
    });
    await edge.start();
    base = `http://127.0.0.1:${edge.port}`;
  });

  afterAll(async () => {
    await edge?.stop();
    await catalog?.server.stop();
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
      body: envelope(0, garbage),
    });
    const webBody = Buffer.from(await web.arrayBuffer()).toString("latin1");
    const webStatus = web.headers.get("grpc-status") ?? /grpc-status: *(\d+)/i.exec(webBody)?.[1];
    expect(webStatus).toBe("3");

    const stream = await fetch(`${base}/shop.catalog.v1.CatalogService/StreamStock`, {
      method: "POST",
      headers: { "content-type": "application/connect+proto" },
      body: envelope(0, garbage),
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
        req.end(envelope(0, garbage));
      });
      expect(status).toBe("3");
    } finally {
      session.close();
    }
  });
});
