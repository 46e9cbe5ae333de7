import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createGrpcServer, createLogger, faultInjection, type GrpcServer, serviceRegistration } from "@shopmesh/platform";
import { catalogHandlers } from "@shopmesh/platform/testing";
import { CatalogService, ProductSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEdgeConfig } from "./config.js";
import { createEdge, type Edge, type EdgeSettings } from "./edge.js";
import { testEdgeSettings } from "./testing/edge-settings.js";

const logger = createLogger({ level: "silent" });

const settings = testEdgeSettings;

describe("x-fault through the edge", () => {
  // A catalog that honours x-fault, as a service started with FAULTS_ENABLED does.
  let upstream: GrpcServer;
  const edges: Edge[] = [];

  beforeAll(async () => {
    upstream = createGrpcServer({
      name: "catalog",
      host: "127.0.0.1",
      port: 0,
      logger,
      interceptors: [faultInjection()],
      services: [
        serviceRegistration(
          CatalogService,
          catalogHandlers({ getProduct: async (req) => ({ product: create(ProductSchema, { id: req.id, name: "Cup" }) }) }),
        ),
      ],
    });
    await upstream.start();
  });

  afterAll(async () => {
    for (const e of edges) await e.stop();
    await upstream?.stop();
  });

  async function edgeWith(overrides: Partial<EdgeSettings>, forwardedHeaders?: string[]): Promise<string> {
    const edge = createEdge({
      config: settings(overrides),
      logger,
      upstreams: { [CatalogService.typeName]: `127.0.0.1:${upstream.port}` },
      services: [CatalogService],
      webApp: false,
      ...(forwardedHeaders ? { forwardedHeaders } : {}),
    });
    await edge.start();
    edges.push(edge);
    return edge.url;
  }

  const rest = (base: string) => fetch(`${base}/api/products/p-1`, { headers: { "x-fault": "code=UNAVAILABLE" } }).then((r) => r.status);
  const connect = (base: string) =>
    createClient(CatalogService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" }))
      .getProduct({ id: "p-1" }, { headers: { "x-fault": "code=FAILED_PRECONDITION" } })
      .then(
        () => "ok",
        (e: unknown) => ConnectError.from(e).code,
      );

  it("passes x-fault on when the edge runs with faults enabled outside production", async () => {
    const base = await edgeWith({ FAULTS_ENABLED: true, NODE_ENV: "development" });
    expect(await rest(base)).toBe(503);
    expect(await connect(base)).toBe(Code.FailedPrecondition);
  });

  it("drops x-fault by default, even when asked to forward it", async () => {
    for (const base of [await edgeWith({}), await edgeWith({}, ["authorization", "X-Fault"])]) {
      expect(await rest(base)).toBe(200);
      expect(await connect(base)).toBe("ok");
    }
  });

  it("cannot be enabled in production", async () => {
    expect(() => readEdgeConfig({ NODE_ENV: "production", FAULTS_ENABLED: "true" })).toThrow(/FAULTS_ENABLED/);
    expect(() =>
      createEdge({ config: settings({ NODE_ENV: "production", FAULTS_ENABLED: true }), logger, services: [], upstreams: {} }),
    ).toThrow(/FAULTS_ENABLED/);
    const base = await edgeWith({ NODE_ENV: "production" });
    expect(await rest(base)).toBe(200);
    expect(await connect(base)).toBe("ok");
  });
});
