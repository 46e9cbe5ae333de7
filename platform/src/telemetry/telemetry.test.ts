import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService, ProductSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeClient, createClient } from "../grpc/client.js";
import { createGrpcServer, type GrpcServer } from "../grpc/server.js";
import { serviceRegistration } from "../grpc/service.js";
import { createLogger } from "../logger.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { metricValue, parseMetrics } from "../testing/metrics-text.js";
import { describeWithPromtool, promtool } from "../testing/index.js";
import { type AdminServer, createAdminServer } from "./admin-server.js";
import { registerReadiness } from "./readiness.js";

const logger = createLogger({ level: "silent" });

let admin: AdminServer;
let server: GrpcServer;
let client: ReturnType<typeof createClient<typeof CatalogService>>;

beforeAll(async () => {
  admin = createAdminServer({ host: "127.0.0.1", port: 0, logger });
  await admin.start();
  server = createGrpcServer({
    name: "catalog-test",
    host: "127.0.0.1",
    port: 0,
    logger,
    services: [
      serviceRegistration(
        CatalogService,
        catalogHandlers({
          async getProduct(req) {
            if (req.id === "missing") throw new ConnectError("product missing not found", Code.NotFound);
            return { product: create(ProductSchema, { id: req.id, name: "P", priceCents: 100, currency: "EUR", stock: 1 }) };
          },
        }),
      ),
    ],
  });
  await server.start();
  client = createClient(CatalogService, `127.0.0.1:${server.port}`, { service: "cart-test", logger });
});

afterAll(async () => {
  closeClient(client);
  await server?.stop();
  await admin?.stop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${admin.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe("the admin server's /metrics", () => {
  it("counts served and made calls by method and code, and reports the client's breaker", async () => {
    await client.getProduct({ id: "p1" });
    await client.getProduct({ id: "p2" });
    await expect(client.getProduct({ id: "missing" })).rejects.toMatchObject({ code: Code.NotFound });

    const samples = parseMetrics(await scrape());
    const method = "shop.catalog.v1.CatalogService/GetProduct";
    const served = (code: string) =>
      metricValue(samples, "shopmesh_rpc_server_duration_seconds_count", { service: "catalog-test", method, kind: "unary", code });
    const made = (code: string) =>
      metricValue(samples, "shopmesh_rpc_client_duration_seconds_count", { service: "cart-test", method, code });
    expect([served("ok"), served("not_found")]).toEqual([2, 1]);
    expect([made("ok"), made("not_found")]).toEqual([2, 1]);
    expect(
      metricValue(samples, "shopmesh_rpc_server_duration_seconds_bucket", { service: "catalog-test", method, code: "ok", le: "+Inf" }),
    ).toBe(2);
    const breaker = { service: "cart-test", target: "shop.catalog.v1.CatalogService" };
    expect(metricValue(samples, "shopmesh_circuit_breaker_state", { ...breaker, state: "closed" })).toBe(1);
    expect(metricValue(samples, "shopmesh_circuit_breaker_state", { ...breaker, state: "open" })).toBe(0);
    expect(metricValue(samples, "process_cpu_seconds_total")).toBeGreaterThan(0);
  });

  it("answers /healthz always and /readyz by the registered checks", async () => {
    expect((await fetch(`${admin.url}/healthz`)).status).toBe(200);
    let dbUp = true;
    const unregister = registerReadiness({ name: "test/database", ready: () => dbUp });
    try {
      expect((await fetch(`${admin.url}/readyz`)).status).toBe(200);
      dbUp = false;
      const res = await fetch(`${admin.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "unavailable", checks: { "test/database": "failing" } });
    } finally {
      unregister();
    }
    expect((await fetch(`${admin.url}/nope`)).status).toBe(404);
  });

  it("runs a full garbage collection on POST /gc only when enabled, answering memory before and after", async () => {
    expect((await fetch(`${admin.url}/gc`, { method: "POST" })).status).toBe(405);
    const debug = createAdminServer({ host: "127.0.0.1", port: 0, logger, gcEnabled: true });
    await debug.start();
    try {
      let garbage: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, text: `garbage ${i}` }));
      expect(garbage.length).toBe(200_000);
      garbage = undefined;
      const res = await fetch(`${debug.url}/gc`, { method: "POST" });
      expect(res.status).toBe(200);
      const { before, after } = (await res.json()) as {
        before: { rss: number; heapUsed: number };
        after: { rss: number; heapUsed: number };
      };
      expect(after.heapUsed).toBeGreaterThan(0);
      expect(after.heapUsed).toBeLessThan(before.heapUsed);
      expect(after.rss).toBeGreaterThan(0);
      expect((await fetch(`${debug.url}/gc`)).status).toBe(405);
    } finally {
      await debug.stop();
    }
  });
});

describeWithPromtool("promtool", () => {
  it("accepts the /metrics output", async () => {
    await client.getProduct({ id: "p3" });
    const result = await promtool(["check", "metrics"], await scrape());
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});
