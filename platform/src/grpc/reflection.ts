import { type DescFile, type DescService, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  ServerReflection as ServerReflectionV1,
} from "@shopmesh/proto/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflectionRequestSchema as AlphaRequestSchema,
  ServerReflectionResponseSchema as AlphaResponseSchema,
  ServerReflection as ServerReflectionV1Alpha,
} from "@shopmesh/proto/grpc/reflection/v1alpha/reflection_pb.js";
import { type ServiceRegistration, serviceRegistration } from "./service.js";

export { ServerReflectionV1, ServerReflectionV1Alpha };

/**
 * Answers for the gRPC server reflection protocol over the files of `services` (and their
 * imports). Shared by every gRPC server of the platform and by the edge.
 */
export class ReflectionIndex {
  readonly #services: string[];
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  readonly #extensions = new Map<string, Map<number, DescFile>>();
  readonly #encoded = new Map<string, Uint8Array>();

  constructor(services: readonly DescService[]) {
    this.#services = [...new Set(services.map((s) => s.typeName))].sort();
    for (const s of services) this.#addFile(s.file);
  }

  #addFile(file: DescFile): void {
    if (this.#files.has(file.name)) return;
    this.#files.set(file.name, file);
    const symbol = (name: string) => this.#symbols.set(name, file);
    for (const m of file.messages) this.#addMessage(m, file);
    for (const e of file.enums) symbol(e.typeName);
    for (const s of file.services) {
      symbol(s.typeName);
      for (const m of s.methods) symbol(`${s.typeName}.${m.name}`);
    }
    for (const x of file.extensions) this.#addExtension(x, file);
    for (const dep of file.dependencies) this.#addFile(dep);
  }

  #addMessage(m: DescFile["messages"][number], file: DescFile): void {
    this.#symbols.set(m.typeName, file);
    for (const n of m.nestedMessages) this.#addMessage(n, file);
    for (const e of m.nestedEnums) this.#symbols.set(e.typeName, file);
    for (const x of m.nestedExtensions) this.#addExtension(x, file);
  }

  #addExtension(x: DescFile["extensions"][number], file: DescFile): void {
    this.#symbols.set(x.typeName, file);
    const byNumber = this.#extensions.get(x.extendee.typeName) ?? new Map<number, DescFile>();
    this.#extensions.set(x.extendee.typeName, byNumber);
    byNumber.set(x.number, file);
  }

  /** The file and everything it imports, each serialized once, dependencies first. */
  #fileResponse(file: DescFile): Uint8Array[] {
    const out: DescFile[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      for (const d of f.dependencies) visit(d);
      out.push(f);
    };
    visit(file);
    return out.map((f) => {
      const bytes = this.#encoded.get(f.name) ?? toBinary(FileDescriptorProtoSchema, f.proto);
      this.#encoded.set(f.name, bytes);
      return bytes;
    });
  }

  answer(req: ServerReflectionRequest): ServerReflectionResponse {
    const base = { validHost: req.host, originalRequest: req };
    const notFound = (what: string) =>
      create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } },
      });
    const files = (file: DescFile | undefined, what: string) =>
      file
        ? create(ServerReflectionResponseSchema, {
            ...base,
            messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: this.#fileResponse(file) } },
          })
        : notFound(what);
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return create(ServerReflectionResponseSchema, {
          ...base,
          messageResponse: { case: "listServicesResponse", value: { service: this.#services.map((name) => ({ name })) } },
        });
      case "fileByFilename":
        return files(this.#files.get(r.value), `file ${r.value}`);
      case "fileContainingSymbol":
        return files(this.#symbols.get(r.value.replace(/^\./, "")), `symbol ${r.value}`);
      case "fileContainingExtension":
        return files(
          this.#extensions.get(r.value.containingType)?.get(r.value.extensionNumber),
          `extension ${r.value.containingType}/${r.value.extensionNumber}`,
        );
      case "allExtensionNumbersOfType": {
        if (!this.#symbols.has(r.value)) return notFound(`type ${r.value}`);
        const numbers = [...(this.#extensions.get(r.value)?.keys() ?? [])].sort((a, b) => a - b);
        return create(ServerReflectionResponseSchema, {
          ...base,
          messageResponse: { case: "allExtensionNumbersResponse", value: { baseTypeName: r.value, extensionNumber: numbers } },
        });
      }
      default:
        return create(ServerReflectionResponseSchema, {
          ...base,
          messageResponse: { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" } },
        });
    }
  }

  /** Handler of v1 ServerReflectionInfo: one response per request. */
  async *v1(requests: AsyncIterable<ServerReflectionRequest>): AsyncIterable<ServerReflectionResponse> {
    for await (const req of requests) yield this.answer(req);
  }

  /** Handler of v1alpha ServerReflectionInfo; the messages are wire-identical to v1. */
  async *v1alpha(requests: AsyncIterable<{ $typeName: string }>): AsyncIterable<ReturnType<typeof alpha>> {
    for await (const req of requests) {
      yield alpha(this.answer(fromBinary(ServerReflectionRequestSchema, toBinary(AlphaRequestSchema, req as never))));
    }
  }

  /** Both reflection services, for a platform gRPC server. */
  registrations(): ServiceRegistration[] {
    return [
      serviceRegistration(ServerReflectionV1, { serverReflectionInfo: (requests) => this.v1(requests) }),
      serviceRegistration(ServerReflectionV1Alpha, { serverReflectionInfo: (requests) => this.v1alpha(requests) }),
    ];
  }
}

function alpha(res: ServerReflectionResponse) {
  return fromBinary(AlphaResponseSchema, toBinary(ServerReflectionResponseSchema, res));
}
