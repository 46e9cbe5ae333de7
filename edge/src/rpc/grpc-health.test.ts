import { closeClient, Code, ConnectError, createClient, createLogger } from "@shopmesh/platform";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "../edge.js";
import { testEdgeSettings } from "../testing/edge-settings.js";
import { type FakeCatalog, startFakeCatalog } from "../testing/fake-upstreams.js";

const logger = createLogger({ level: "silent" });

describe("grpc.health.v1 on the edge's public port", () => {
  let catalog: FakeCatalog;
  let edge: Edge;
  let health: ReturnType<typeof createClient<typeof Health>>;

  beforeAll(async () => {
    catalog = await startFakeCatalog(logger);
    edge = createEdge({
      config: testEdgeSettings(),
      logger,
      upstreams: { [CatalogService.typeName]: catalog.address },
      services: [CatalogService],
      webApp: false,
      healthWatchIntervalMs: 20,
    });
    await edge.start();
    // A real gRPC client, as a load balancer or a probe uses.
    health = createClient(Health, `127.0.0.1:${edge.port}`, { logger });
  });

  afterAll(async () => {
    if (health) closeClient(health);
    await edge?.stop();
    await catalog?.server.stop();
  });

  it("answers Check for the edge and for each fronted service, following readiness; NOT_FOUND for others", async () => {
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await health.check({ service: CatalogService.typeName })).status).toBe(Status.SERVING);
    const unknown = await health.check({ service: "shop.nothing.v1.Nothing" }).catch((e: unknown) => ConnectError.from(e));
    expect(unknown).toMatchObject({ code: Code.NotFound });

    catalog.server.setServing(false);
    try {
      expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING);
      expect((await health.check({ service: CatalogService.typeName })).status).toBe(Status.NOT_SERVING);
    } finally {
      catalog.server.setServing(true);
    }
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
  });

  it("streams Watch changes as readiness changes, and NOT_SERVING when the edge stops", async () => {
    const ac = new AbortController();
    const stream = health.watch({ service: "" }, { signal: ac.signal })[Symbol.asyncIterator]();
    const next = async () => (await stream.next()).value?.status;
    try {
      expect(await next()).toBe(Status.SERVING);
      catalog.server.setServing(false);
      expect(await next()).toBe(Status.NOT_SERVING);
      catalog.server.setServing(true);
      expect(await next()).toBe(Status.SERVING);
    } catch (err) {
      ac.abort();
      throw err;
    }

    // A second edge to stop, so that the suite's edge keeps serving.
    const stopping = createEdge({
      config: testEdgeSettings(),
      logger,
      upstreams: { [CatalogService.typeName]: catalog.address },
      services: [CatalogService],
      webApp: false,
      healthWatchIntervalMs: 20,
    });
    await stopping.start();
    const client = createClient(Health, `127.0.0.1:${stopping.port}`, { logger });
    try {
      const watch = client.watch({ service: "" })[Symbol.asyncIterator]();
      expect((await watch.next()).value?.status).toBe(Status.SERVING);
      const stopped = stopping.stop();
      expect((await watch.next()).value?.status).toBe(Status.NOT_SERVING);
      await stopped;
    } finally {
      closeClient(client);
      await stopping.stop();
      ac.abort();
    }
  });
});
