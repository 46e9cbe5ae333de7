import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { BadRequestSchema } from "@shopmesh/proto/google/rpc/error_details_pb.js";
import { StatusSchema } from "@shopmesh/proto/google/rpc/status_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldViolationsOf, violations } from "../errors.js";
import { createLogger } from "../logger.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { closeClient, createClient } from "./client.js";
import { createGrpcServer, type GrpcServer } from "./server.js";
import { serviceRegistration } from "./service.js";

const logger = createLogger({ level: "silent" });
let server: GrpcServer;

beforeAll(async () => {
  server = createGrpcServer({
    name: "test",
    host: "127.0.0.1",
    port: 0,
    logger,
    services: [
      serviceRegistration(
        CatalogService,
        catalogHandlers({
          getProduct: async (req) => {
            const v = violations();
            v.check(req.id.length >= 3, "id", "at least 3 characters");
            v.check(/^[a-z]*$/.test(req.id), "id", "lowercase letters only");
            v.throwIfAny();
            throw new ConnectError(`product ${req.id} not found`, Code.NotFound);
          },
        }),
      ),
    ],
  });
  await server.start();
});
afterAll(() => server.stop());

describe("error details over gRPC", () => {
  it("reach a platform client as BadRequest details, one field violation per bad field", async () => {
    const c = createClient(CatalogService, `127.0.0.1:${server.port}`, { logger });
    try {
      const err = await c.getProduct({ id: "X" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      const e = err as ConnectError;
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toBe("id: at least 3 characters; id: lowercase letters only");
      expect(fieldViolationsOf(e)).toEqual([
        { field: "id", description: "at least 3 characters" },
        { field: "id", description: "lowercase letters only" },
      ]);
      await expect(c.getProduct({ id: "abc" })).rejects.toMatchObject({ code: Code.NotFound, details: [] });
    } finally {
      closeClient(c);
    }
  });

  it("travel as a google.rpc.Status in the grpc-status-details-bin trailer any gRPC client reads", async () => {
    const raw = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) => {
        // GetProductRequest { id: "X" }
        raw.makeUnaryRequest(
          "/shop.catalog.v1.CatalogService/GetProduct",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0x01, 0x58]),
          (e) => resolve(e),
        );
      });
      const bin = err?.metadata.get("grpc-status-details-bin")[0];
      expect(bin).toBeInstanceOf(Buffer);
      const status = fromBinary(StatusSchema, bin as Buffer);
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(status.details.map((d) => d.typeUrl)).toEqual(["type.googleapis.com/google.rpc.BadRequest"]);
      const badRequest = fromBinary(BadRequestSchema, status.details[0]?.value ?? new Uint8Array());
      expect(badRequest.fieldViolations.map((v) => v.field)).toEqual(["id", "id"]);
    } finally {
      raw.close();
    }
  });
});
