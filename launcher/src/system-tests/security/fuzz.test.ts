import * as http from "node:http";
import { publicSurface } from "@shopmesh/edge";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { Shopper } from "../../shopper.js";

/**
 * Property-based fuzzing of the edge over a real embedded mesh: random and malformed paths,
 * bodies, query strings and headers on every REST route and every Connect method the contracts
 * expose. Whatever comes in, the answer is never a 5xx, never takes longer than a few seconds,
 * the process stays up, and a correct request afterwards still works.
 */

const surface = publicSurface([AuthService, CatalogService, CartService, OrderService, PaymentService, NotificationService]);
const routes = surface.flatMap((m) => (m.http ? [m.http] : []));
const procedures = surface.map((m) => `/${m.service.typeName}/${m.method.name}`);
/** Bidi methods need HTTP/2: over HTTP/1.1 the Connect protocol answers 505 HTTP Version Not Supported. */
const bidi = new Set(surface.filter((m) => m.method.methodKind === "bidi_streaming").map((m) => `/${m.service.typeName}/${m.method.name}`));

let mesh: EmbeddedMesh;
let port: number;
let shopper: Shopper;

interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array;
}

/** Sends a request as given (no URL normalisation); resolves to the status, or rejects after 5 s. */
function send(req: RawRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: "127.0.0.1", port, method: req.method, path: req.path, headers: req.headers, timeout: 5_000, agent: false },
      (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
        res.once("error", reject);
      },
    );
    r.once("timeout", () => r.destroy(new Error(`no answer within 5 s: ${req.method} ${req.path}`)));
    r.once("error", reject);
    r.end(req.body);
  });
}

/** Characters a request target may carry as they are (RFC 3986 unreserved, sub-delims, ":@/"), plus %-escapes. */
const pathChar = fc.oneof(
  fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"),
  fc.integer({ min: 0, max: 255 }).map((n) => `%${n.toString(16).padStart(2, "0")}`),
  fc.constantFrom("%", "%zz", "%c3%28", "%00", "..", "%2e%2e", "%2F"),
);
const segment = fc.array(pathChar, { maxLength: 40 }).map((cs) => cs.join(""));
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });
const headers = fc.record(
  {
    authorization: fc.oneof(
      headerValue,
      headerValue.map((v) => `Bearer ${v}`),
      fc.constant("Bearer a.b.c"),
    ),
    "content-type": fc.oneof(
      headerValue,
      fc.constantFrom("application/json", "application/proto", "application/grpc-web+proto", "text/plain", "application/connect+json"),
    ),
    "x-request-id": headerValue,
    "idempotency-key": headerValue,
    "connect-protocol-version": fc.constantFrom("1", "2", "x"),
    "connect-timeout-ms": fc.oneof(fc.nat().map(String), headerValue),
    accept: headerValue,
  },
  { requiredKeys: [] },
);
const jsonish = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 300 }),
  fc.constantFrom("{", "[", '{"a":', "null", '{"__proto__":{"x":1}}', '{"qty":1e400}', '{"page_size":-1}', '{"id":"\\u0000"}'),
);
const body = fc.oneof(jsonish, fc.uint8Array({ maxLength: 300 }));

/** Whether the request sets its own Connect deadline (connect-timeout-ms: up to 10 digits). */
const asksForDeadline = (headers: Record<string, string>) => /^\d{1,10}$/.test(headers["connect-timeout-ms"] ?? "");

/** A concrete path for a route template, its `{field}` segments filled with fuzz. */
function routePath(template: string, fills: string[]): string {
  let i = 0;
  return template.replace(/\{[^}]+\}/g, () => fills[i++ % fills.length] || "x");
}

beforeAll(async () => {
  mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
  port = mesh.edgePort;
  shopper = await Shopper.signup(mesh.url, "fuzz@example.com");
});

afterAll(async () => {
  await mesh?.stop();
});

async function stillServing(): Promise<void> {
  expect((await fetch(`${mesh.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${mesh.url}/api/products?page_size=2`)).status).toBe(200);
  expect((await shopper.call("GET", "/api/cart")).status).toBe(200);
}

describe("fuzzing the edge", () => {
  it("answers every REST route under random paths, queries, bodies and headers without a 5xx", async () => {
    expect(routes.length).toBeGreaterThan(10);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        fc.option(fc.array(fc.tuple(segment, segment), { maxLength: 4 })),
        headers,
        fc.option(body),
        fc.boolean(),
        async (route, fills, query, hdrs, payload, signedIn) => {
          const q = query ? `?${query.map(([k, v]) => `${k}=${v}`).join("&")}` : "";
          const status = await send({
            method: route.method,
            path: `${routePath(route.template, fills)}${q}`,
            headers: { ...hdrs, ...(signedIn ? { authorization: `Bearer ${shopper.token}` } : {}) },
            ...(payload === null ? {} : { body: payload }),
          });
          expect(status, `${route.method} ${route.template}`).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
    await stillServing();
  });

  it("answers every Connect method under random bodies and headers without a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...procedures), headers, body, fc.boolean(), async (procedure, hdrs, payload, signedIn) => {
        const status = await send({
          method: "POST",
          path: procedure,
          headers: { ...hdrs, ...(signedIn ? { authorization: `Bearer ${shopper.token}` } : {}) },
          body: payload,
        });
        if (bidi.has(procedure) && status === 505) return;
        // The deadline the client asked for ran out: the answer it asked for.
        if (status === 504 && asksForDeadline(hdrs)) return;
        expect(status, procedure).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
    await stillServing();
  });

  it("answers 504 to a call whose own deadline runs out, and serves the next call", async () => {
    const call = (timeout?: string) =>
      send({
        method: "POST",
        path: "/shop.catalog.v1.CatalogService/ListProducts",
        headers: { "content-type": "application/json", ...(timeout ? { "connect-timeout-ms": timeout } : {}) },
        body: "{}",
      });
    for (let i = 0; i < 10; i++) expect([200, 504]).toContain(await call("2"));
    expect(await call("0")).toBe(504);
    expect(await call()).toBe(200);
  });

  it("answers any method on any path without a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND"),
        fc.array(segment, { maxLength: 6 }),
        headers,
        fc.option(body),
        async (method, segments, hdrs, payload) => {
          const status = await send({
            method,
            path: `/${segments.join("/")}`,
            headers: hdrs,
            ...(payload === null || method === "GET" || method === "HEAD" ? {} : { body: payload }),
          });
          expect(status, `${method} /${segments.join("/")}`).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
    await stillServing();
  });
});
