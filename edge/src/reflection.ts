import {
  clone,
  create,
  createFileRegistry,
  type DescFile,
  type DescMethod,
  type DescService,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import {
  type DescriptorProtoSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import type { ExposedMethod } from "./public-surface.js";

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) for what the edge serves, so that
 * grpcurl, Postman or any reflective client can list, describe and call the public methods
 * through the edge. Descriptors are those of the contracts with the methods the edge does not
 * expose removed: reflection shows the public surface, not the services' internals.
 */

const { STRING, INT32, BYTES, MESSAGE } = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;

type Field = [
  name: string,
  number: number,
  type: FieldDescriptorProto_Type,
  opts?: { repeated?: boolean; typeName?: string; oneof?: number },
];

/** reflection.proto, written out: protoc-gen-es output for it is not part of the contracts package. */
function reflectionFile(pkg: string): FileDescriptorProto {
  const t = (name: string) => `.${pkg}.${name}`;
  const message = (name: string, fields: Field[], oneofs: string[] = []): MessageInitShape<typeof DescriptorProtoSchema> => ({
    name,
    field: fields.map(([fname, number, type, o = {}]) => ({
      name: fname,
      jsonName: fname.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      number,
      type,
      label: o.repeated ? REPEATED : OPTIONAL,
      ...(o.typeName === undefined ? {} : { typeName: o.typeName }),
      ...(o.oneof === undefined ? {} : { oneofIndex: o.oneof }),
    })),
    oneofDecl: oneofs.map((name) => ({ name })),
  });
  return create(FileDescriptorProtoSchema, {
    name: pkg === "grpc.reflection.v1" ? "grpc/reflection/v1/reflection.proto" : "grpc/reflection/v1alpha/reflection.proto",
    package: pkg,
    syntax: "proto3",
    messageType: [
      message(
        "ServerReflectionRequest",
        [
          ["host", 1, STRING],
          ["file_by_filename", 3, STRING, { oneof: 0 }],
          ["file_containing_symbol", 4, STRING, { oneof: 0 }],
          ["file_containing_extension", 5, MESSAGE, { oneof: 0, typeName: t("ExtensionRequest") }],
          ["all_extension_numbers_of_type", 6, STRING, { oneof: 0 }],
          ["list_services", 7, STRING, { oneof: 0 }],
        ],
        ["message_request"],
      ),
      message("ExtensionRequest", [
        ["containing_type", 1, STRING],
        ["extension_number", 2, INT32],
      ]),
      message(
        "ServerReflectionResponse",
        [
          ["valid_host", 1, STRING],
          ["original_request", 2, MESSAGE, { typeName: t("ServerReflectionRequest") }],
          ["file_descriptor_response", 4, MESSAGE, { oneof: 0, typeName: t("FileDescriptorResponse") }],
          ["all_extension_numbers_response", 5, MESSAGE, { oneof: 0, typeName: t("ExtensionNumberResponse") }],
          ["list_services_response", 6, MESSAGE, { oneof: 0, typeName: t("ListServiceResponse") }],
          ["error_response", 7, MESSAGE, { oneof: 0, typeName: t("ErrorResponse") }],
        ],
        ["message_response"],
      ),
      message("FileDescriptorResponse", [["file_descriptor_proto", 1, BYTES, { repeated: true }]]),
      message("ExtensionNumberResponse", [
        ["base_type_name", 1, STRING],
        ["extension_number", 2, INT32, { repeated: true }],
      ]),
      message("ListServiceResponse", [["service", 1, MESSAGE, { repeated: true, typeName: t("ServiceResponse") }]]),
      message("ServiceResponse", [["name", 1, STRING]]),
      message("ErrorResponse", [
        ["error_code", 1, INT32],
        ["error_message", 2, STRING],
      ]),
    ],
    service: [
      {
        name: "ServerReflection",
        method: [
          {
            name: "ServerReflectionInfo",
            inputType: t("ServerReflectionRequest"),
            outputType: t("ServerReflectionResponse"),
            clientStreaming: true,
            serverStreaming: true,
          },
        ],
      },
    ],
  });
}

/** The reflection services, v1 and the v1alpha older clients ask for. */
export const reflectionServices: readonly DescService[] = ["grpc.reflection.v1", "grpc.reflection.v1alpha"].map((pkg) => {
  const file = reflectionFile(pkg);
  return createFileRegistry(file, () => undefined).getService(`${pkg}.ServerReflection`) as DescService;
});

interface ReflectionRequest {
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

interface Index {
  readonly services: string[];
  /** File name → the file as served (internal methods removed), encoded. */
  readonly files: Map<string, { desc: DescFile; bytes: Uint8Array }>;
  /** Fully qualified symbol → file name. */
  readonly symbols: Map<string, string>;
  /** Extendee type name → [extension number, file name]. */
  readonly extensions: Map<string, Array<[number, string]>>;
}

function buildIndex(methods: readonly ExposedMethod[]): Index {
  const exposed = new Set<DescMethod>(methods.map((m) => m.method));
  const fronted = new Set<DescService>(methods.map((m) => m.service));
  const roots = [...fronted, ...reflectionServices];
  const files = new Map<string, { desc: DescFile; bytes: Uint8Array }>();
  const symbols = new Map<string, string>();
  const extensions = new Map<string, Array<[number, string]>>();
  const visit = (f: DescFile) => {
    if (files.has(f.proto.name)) return;
    let proto = f.proto;
    const trimmed = f.services.filter((s) => fronted.has(s));
    if (trimmed.length > 0) {
      proto = clone(FileDescriptorProtoSchema, f.proto);
      for (const sp of proto.service) {
        const s = trimmed.find((x) => x.name === sp.name);
        if (s) sp.method = sp.method.filter((mp) => s.methods.some((m) => m.name === mp.name && exposed.has(m)));
      }
    }
    files.set(f.proto.name, { desc: f, bytes: toBinary(FileDescriptorProtoSchema, proto) });
    for (const t of nestedTypes(f)) {
      symbols.set(t.typeName, f.proto.name);
      if (t.kind === "service") for (const m of t.methods) symbols.set(`${t.typeName}.${m.name}`, f.proto.name);
      if (t.kind === "extension") {
        const list = extensions.get(t.extendee.typeName) ?? [];
        list.push([t.number, f.proto.name]);
        extensions.set(t.extendee.typeName, list);
      }
    }
    for (const dep of f.dependencies) visit(dep);
  };
  for (const s of roots) visit(s.file);
  return { services: roots.map((s) => s.typeName), files, symbols, extensions };
}

/** The file and everything it imports, the file itself first (what grpc-go answers too). */
function withDependencies(index: Index, name: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  const walk = (n: string) => {
    const entry = index.files.get(n);
    if (!entry || seen.has(n)) return;
    seen.add(n);
    out.push(entry.bytes);
    for (const dep of entry.desc.dependencies) walk(dep.proto.name);
  };
  walk(name);
  return out;
}

function answer(index: Index, req: ReflectionRequest): Record<string, unknown> {
  const notFound = (what: string) => ({ case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } });
  const files = (name: string | undefined, what: string) =>
    name === undefined ? notFound(what) : { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDependencies(index, name) } };
  const r = req.messageRequest;
  switch (r.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
    case "fileByFilename":
      return files(index.files.has(r.value) ? r.value : undefined, `file ${r.value}`);
    case "fileContainingSymbol":
      return files(index.symbols.get(r.value.replace(/^\./, "")), `symbol ${r.value}`);
    case "fileContainingExtension": {
      const hit = index.extensions.get(r.value.containingType)?.find(([n]) => n === r.value.extensionNumber);
      return files(hit?.[1], `extension ${r.value.extensionNumber} of ${r.value.containingType}`);
    }
    case "allExtensionNumbersOfType":
      if (!index.symbols.has(r.value)) return notFound(`type ${r.value}`);
      return {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: r.value, extensionNumber: (index.extensions.get(r.value) ?? []).map(([n]) => n) },
      };
    default:
      return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" } };
  }
}

/** Registers the reflection services on a Connect router (HTTP/2 clients: the method is bidi). */
export function registerReflection(router: ConnectRouter, methods: readonly ExposedMethod[]): void {
  const index = buildIndex(methods);
  for (const service of reflectionServices) {
    const method = service.methods[0] as DescMethod;
    router.rpc(method, async function* (requests: AsyncIterable<ReflectionRequest & { host: string }>) {
      for await (const req of requests) {
        yield { validHost: req.host, originalRequest: req, messageResponse: answer(index, req) };
      }
    } as never);
  }
}
