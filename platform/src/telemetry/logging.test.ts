import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireUser } from "../auth/require-user.js";
import type { TokenVerifier } from "../auth/token-verifier.js";
import { closeClient, createClient } from "../grpc/client.js";
import { createGrpcServer, type GrpcServer } from "../grpc/server.js";
import { serviceRegistration } from "../grpc/service.js";
import { createLogger } from "../logger.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { setupTracing } from "./tracing.js";

/** Log lines written by a server and a client, as parsed JSON. */
const lines: Array<Record<string, unknown>> = [];
const logger = createLogger({
  level: "debug",
  destination: {
    write(chunk: string) {
      lines.push(JSON.parse(chunk) as Record<string, unknown>);
    },
  },
});

let upstream: GrpcServer;
let downstream: GrpcServer;

beforeAll(async () => {
  setupTracing();
  downstream = createGrpcServer({
    name: "catalog",
    host: "127.0.0.1",
    port: 0,
    logger: logger.child({ service: "catalog" }),
    services: [
      serviceRegistration(
        CatalogService,
        catalogHandlers({
          async getProduct(req, ctx) {
            ctx.log.info({ password: "hunter2", card_number: "4242424242424242", email: "ada@example.com" }, "careless line");
            throw new ConnectError(`product ${req.id} not found`, Code.NotFound);
          },
        }),
      ),
    ],
  });
  await downstream.start();
  const client = createClient(CatalogService, `127.0.0.1:${downstream.port}`, { logger: logger.child({ service: "cart" }) });
  upstream = createGrpcServer({
    name: "cart",
    host: "127.0.0.1",
    port: 0,
    logger: logger.child({ service: "cart" }),
    // Any token is the user "user-7" here.
    interceptors: [requireUser({ verify: async () => ({ userId: "user-7" }) } as unknown as TokenVerifier)],
    services: [
      serviceRegistration(
        CatalogService,
        catalogHandlers({
          // Calls the downstream service, which fails: the failure travels back up.
          getProduct: (req) => client.getProduct(req),
        }),
      ),
    ],
  });
  await upstream.start();
  return () => closeClient(client);
});

afterAll(async () => {
  await upstream?.stop();
  await downstream?.stop();
});

describe("log lines", () => {
  it("one line per RPC with method, code, duration and the trace id shared across services", async () => {
    const client = createClient(CatalogService, `127.0.0.1:${upstream.port}`);
    try {
      await expect(client.getProduct({ id: "p-9" }, { metadata: { authorization: "Bearer t0k3n" } })).rejects.toMatchObject({
        code: Code.NotFound,
      });
    } finally {
      closeClient(client);
    }
    const rpc = lines.filter((l) => l.msg === "rpc" && l.method === "shop.catalog.v1.CatalogService/GetProduct");
    expect(rpc.map((l) => l.service).sort()).toEqual(["cart", "catalog"]);
    for (const l of rpc) {
      expect(l).toMatchObject({ level: "info", code: "not_found", duration_ms: expect.any(Number) });
      expect(l.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(l.span_id).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(rpc[0]?.trace_id).toBe(rpc[1]?.trace_id);
    expect(rpc.find((l) => l.service === "cart")?.user_id).toBe("user-7");
    expect(rpc[0]?.span_id).not.toBe(rpc[1]?.span_id);
  });

  it("redacts passwords, card numbers, emails and tokens, and carries the trace id on a handler's own lines", async () => {
    const careless = lines.find((l) => l.msg === "careless line");
    expect(careless).toMatchObject({ password: "[redacted]", card_number: "[redacted]", email: "[redacted]" });
    expect(careless?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const all = JSON.stringify(lines);
    for (const secret of ["hunter2", "4242424242424242", "ada@example.com", "t0k3n"]) expect(all).not.toContain(secret);
  });
});
