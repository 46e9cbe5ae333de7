import { type DescFile, type DescMethod, type DescService, clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
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
  type ServerReflectionRequest as AlphaRequest,
  type ServerReflectionResponse as AlphaResponse,
  ServerReflectionRequestSchema as AlphaRequestSchema,
  ServerReflectionResponseSchema as AlphaResponseSchema,
  ServerReflection as ServerReflectionV1Alpha,
} from "@shopmesh/proto/grpc/reflection/v1alpha/reflection_pb.js";
import { type ServiceRegistration, serviceRegistration } from "./service.js";

export { ServerReflectionV1, ServerReflectionV1Alpha };

export interface ReflectionOptions {
  /**
   * The methods reflection describes. Any other method is removed from the descriptors served
   * (each file is re-encoded once without it) and is not found as a symbol. Default: all.
   */
  readonly exposes?: (method: DescMethod) => boolean;
}

/**
 * Answers for the gRPC server reflection protocol over the files of `services` (and their
 * imports). Shared by every gRPC server of the platform and by the edge, which exposes only
 * its public methods.
 */
export class ReflectionIndex {
  readonly #services: string[];
  readonly #exposes: (method: DescMethod) => boolean;
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  readonly #extensions = new Map<string, Map<number, DescFile>>();
  readonly #encoded = new Map<string, Uint8Array>();

  constructor(services: readonly DescService[], opts: ReflectionOptions = {}) {
    this.#services = [...new Set(services.map((s) => s.typeName))].sort();
    this.#exposes = opts.exposes ?? (() => true);
    for (const s of services) this.#addFile(s.file);
  }

  #addFile(file: DescFile): void {
    // Keyed by the name clients ask for: DescFile.name has no ".proto" suffix.
    if (this.#files.has(file.proto.name)) return;
    this.#files.set(file.proto.name, file);
    const symbol = (name: string) => this.#symbols.set(name, file);
    for (const m of file.messages) this.#addMessage(m, file);
    for (const e of file.enums) symbol(e.typeName);
    for (const s of file.services) {
      symbol(s.typeName);
      for (const m of s.methods) if (this.#exposes(m)) symbol(`${s.typeName}.${m.name}`);
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

  /** The file as served: its FileDescriptorProto without the methods not exposed, encoded once. */
  #encode(file: DescFile): Uint8Array {
    let bytes = this.#encoded.get(file.proto.name);
    if (bytes) return bytes;
    const hidden = file.services.filter((s) => s.methods.some((m) => !this.#exposes(m)));
    let proto = file.proto;
    if (hidden.length > 0) {
      proto = clone(FileDescriptorProtoSchema, file.proto);
      for (const sp of proto.service) {
        const s = hidden.find((x) => x.name === sp.name);
        if (s) sp.method = sp.method.filter((mp) => s.methods.some((m) => m.name === mp.name && this.#exposes(m)));
      }
    }
    bytes = toBinary(FileDescriptorProtoSchema, proto);
    this.#encoded.set(file.proto.name, bytes);
    return bytes;
  }

  /** The file and everything it imports, dependencies first (the order a descriptor pool loads them in). */
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
    return out.map((f) => this.#encode(f));
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
  async *v1alpha(requests: AsyncIterable<AlphaRequest>): AsyncIterable<AlphaResponse> {
    for await (const req of requests) {
      const answer = this.answer(fromBinary(ServerReflectionRequestSchema, toBinary(AlphaRequestSchema, req)));
      yield fromBinary(AlphaResponseSchema, toBinary(ServerReflectionResponseSchema, answer));
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
