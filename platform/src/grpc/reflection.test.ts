import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "@shopmesh/proto/grpc/reflection/v1/reflection_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { closeClient, createClient } from "./client.js";
import { ReflectionIndex, ServerReflectionV1, ServerReflectionV1Alpha } from "./reflection.js";
import { createGrpcServer, type GrpcServer } from "./server.js";
import { serviceRegistration } from "./service.js";

const logger = createLogger({ level: "silent" });

type Request = ServerReflectionRequest["messageRequest"];

async function* requests<T>(...messages: T[]): AsyncIterable<T> {
  yield* messages;
}

/** The file names and decoded files of a fileDescriptorResponse. */
function files(res: ServerReflectionResponse["messageResponse"] | undefined) {
  if (res?.case !== "fileDescriptorResponse") throw new Error(`expected files, got ${res?.case}`);
  return res.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

describe("server reflection on a platform gRPC server", () => {
  let server: GrpcServer;
  let v1: ReturnType<typeof createClient<typeof ServerReflectionV1>>;
  let v1alpha: ReturnType<typeof createClient<typeof ServerReflectionV1Alpha>>;

  beforeAll(async () => {
    server = createGrpcServer({
      name: "test",
      host: "127.0.0.1",
      port: 0,
      logger,
      services: [serviceRegistration(CatalogService, catalogHandlers())],
    });
    await server.start();
    v1 = createClient(ServerReflectionV1, `127.0.0.1:${server.port}`, { logger });
    v1alpha = createClient(ServerReflectionV1Alpha, `127.0.0.1:${server.port}`, { logger });
  });

  afterAll(async () => {
    if (v1) closeClient(v1);
    if (v1alpha) closeClient(v1alpha);
    await server?.stop();
  });

  /** Asks every request on one stream; one answer each, in order. */
  async function ask(...messages: Request[]): Promise<ServerReflectionResponse["messageResponse"][]> {
    const out = [];
    for await (const res of v1.serverReflectionInfo(requests(...messages.map((messageRequest) => ({ messageRequest }))))) {
      out.push(res.messageResponse);
    }
    return out;
  }

  it("lists the services, health included", async () => {
    const [list] = await ask({ case: "listServices", value: "" });
    expect(list?.case === "listServicesResponse" && list.value.service.map((s) => s.name)).toEqual([
      "grpc.health.v1.Health",
      "shop.catalog.v1.CatalogService",
    ]);
  });

  it("answers file_containing_symbol for a method with the file and its dependencies, dependencies first", async () => {
    const [res] = await ask({ case: "fileContainingSymbol", value: "shop.catalog.v1.CatalogService.GetProduct" });
    const protos = files(res);
    expect(protos.at(-1)?.name).toBe("shop/catalog/v1/catalog.proto");
    expect(protos.map((p) => p.name)).toEqual(expect.arrayContaining(["shop/api/v1/annotations.proto", "google/protobuf/timestamp.proto"]));
    // Enough to rebuild the service: a reflective client needs nothing else.
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: protos }));
    const service = registry.getService("shop.catalog.v1.CatalogService");
    expect(service?.methods.map((m) => m.name)).toEqual(CatalogService.methods.map((m) => m.name));
  });

  it("answers file_by_filename and NOT_FOUND for an unknown symbol or file, on the same stream", async () => {
    const [byName, unknownSymbol, unknownFile] = await ask(
      { case: "fileByFilename", value: "shop/catalog/v1/catalog.proto" },
      { case: "fileContainingSymbol", value: "shop.catalog.v1.NoSuchThing" },
      { case: "fileByFilename", value: "no/such.proto" },
    );
    expect(files(byName).at(-1)?.name).toBe("shop/catalog/v1/catalog.proto");
    expect(unknownSymbol?.case === "errorResponse" && unknownSymbol.value.errorCode).toBe(Code.NotFound);
    expect(unknownFile?.case === "errorResponse" && unknownFile.value.errorCode).toBe(Code.NotFound);
  });

  it("answers v1alpha as well", async () => {
    const out = [];
    const asked = requests(
      { messageRequest: { case: "listServices" as const, value: "" } },
      { messageRequest: { case: "fileContainingSymbol" as const, value: "shop.catalog.v1.Product" } },
    );
    for await (const res of v1alpha.serverReflectionInfo(asked)) out.push(res.messageResponse);
    const [list, file] = out;
    expect(list?.case === "listServicesResponse" && list.value.service.map((s) => s.name)).toContain("shop.catalog.v1.CatalogService");
    if (file?.case !== "fileDescriptorResponse") throw new Error(`expected files, got ${file?.case}`);
    const last = file.value.fileDescriptorProto.at(-1);
    expect(last && fromBinary(FileDescriptorProtoSchema, last).name).toBe("shop/catalog/v1/catalog.proto");
  });
});

describe("ReflectionIndex with exposes", () => {
  const publicMethods = new Set(["GetProduct", "ListProducts"]);
  const index = new ReflectionIndex([CatalogService], { exposes: (m) => publicMethods.has(m.name) });
  const answer = (messageRequest: Request) => index.answer(create(ServerReflectionRequestSchema, { messageRequest })).messageResponse;

  it("serves the files without the methods it does not expose, and does not find them as symbols", () => {
    const catalog = files(answer({ case: "fileContainingSymbol", value: "shop.catalog.v1.CatalogService.GetProduct" })).at(-1);
    expect(catalog?.service[0]?.method.map((m) => m.name)).toEqual(["ListProducts", "GetProduct"]);
    const hidden = answer({ case: "fileContainingSymbol", value: "shop.catalog.v1.CatalogService.AdjustStock" });
    expect(hidden.case === "errorResponse" && hidden.value.errorCode).toBe(Code.NotFound);
    // The messages of hidden methods stay: the file is otherwise the contract's.
    const message = answer({ case: "fileContainingSymbol", value: "shop.catalog.v1.AdjustStockRequest" });
    expect(files(message).at(-1)?.name).toBe("shop/catalog/v1/catalog.proto");
  });

  it("encodes each file once", () => {
    const a = answer({ case: "fileByFilename", value: "shop/catalog/v1/catalog.proto" });
    const b = answer({ case: "fileByFilename", value: "shop/catalog/v1/catalog.proto" });
    if (a.case !== "fileDescriptorResponse" || b.case !== "fileDescriptorResponse") throw new Error("expected files");
    expect(a.value.fileDescriptorProto.at(-1)).toBe(b.value.fileDescriptorProto.at(-1));
  });
});
