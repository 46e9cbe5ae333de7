import { create, createFileRegistry, type DescService, type MessageInitShape, setExtension } from "@bufbuild/protobuf";
import {
  type DescriptorProtoSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  MethodOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import { Access, EdgeRuleSchema, edge, file_shop_api_v1_annotations } from "@shopmesh/proto/shop/api/v1/annotations_pb.js";

/**
 * A contract built at run time for the edge tests: a service with JSON-body routes, path and
 * query parameters, enums (top level, repeated and nested), a user-only method, an internal
 * method and a route with success_status — the shapes the later services declare, without
 * depending on their generated code. The edge sees it exactly like a generated descriptor.
 */

const { STRING, INT32, INT64, BOOL, ENUM, MESSAGE } = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;

type FieldSpec = [name: string, number: number, type: FieldDescriptorProto_Type, repeated?: boolean, typeName?: string];

function message(name: string, fields: FieldSpec[]): MessageInitShape<typeof DescriptorProtoSchema> {
  return {
    name,
    field: fields.map(([fname, number, type, repeated, typeName]) => ({
      name: fname,
      // protoc always fills json_name; the runtime-built file has to do it itself.
      jsonName: fname.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      number,
      type,
      label: repeated ? REPEATED : OPTIONAL,
      ...(typeName === undefined ? {} : { typeName }),
    })),
  };
}

function rule(access: Access, http?: { method: string; path: string; body?: string; successStatus?: number; responseBody?: string }) {
  const options = create(MethodOptionsSchema);
  setExtension(options, edge, create(EdgeRuleSchema, { access, http }));
  return options;
}

const echoFields: FieldSpec[] = [
  ["name", 1, STRING],
  ["qty", 2, INT32],
  ["tags", 3, STRING, true],
  ["color", 4, ENUM, false, ".test.echo.v1.Color"],
  ["inner", 5, MESSAGE, false, ".test.echo.v1.Inner"],
  ["idempotency_key", 6, STRING],
  ["big", 7, INT64],
  ["flag", 8, BOOL],
  ["colors", 9, ENUM, true, ".test.echo.v1.Color"],
];

const fileProto = create(FileDescriptorProtoSchema, {
  name: "test/echo/v1/echo.proto",
  package: "test.echo.v1",
  syntax: "proto3",
  dependency: ["shop/api/v1/annotations.proto"],
  enumType: [
    {
      name: "Color",
      value: [
        { name: "COLOR_UNSPECIFIED", number: 0 },
        { name: "COLOR_RED", number: 1 },
        { name: "COLOR_DEEP_BLUE", number: 2 },
      ],
    },
  ],
  messageType: [
    message("Inner", [["shade", 1, ENUM, false, ".test.echo.v1.Color"]]),
    message("EchoRequest", echoFields),
    message("EchoResponse", [...echoFields, ["authorization", 20, STRING], ["request_id", 21, STRING], ["deadline_ms", 22, INT32]]),
    message("WrappedResponse", [["echo", 1, MESSAGE, false, ".test.echo.v1.EchoResponse"]]),
  ],
  service: [
    {
      name: "EchoService",
      method: [
        {
          name: "Create",
          inputType: ".test.echo.v1.EchoRequest",
          outputType: ".test.echo.v1.EchoResponse",
          options: rule(Access.PUBLIC, { method: "POST", path: "/api/echo", body: "*", successStatus: 201 }),
        },
        {
          name: "Get",
          inputType: ".test.echo.v1.EchoRequest",
          outputType: ".test.echo.v1.WrappedResponse",
          options: rule(Access.PUBLIC, { method: "GET", path: "/api/echo/{name}", responseBody: "echo" }),
        },
        {
          name: "Update",
          inputType: ".test.echo.v1.EchoRequest",
          outputType: ".test.echo.v1.EchoResponse",
          options: rule(Access.USER, { method: "PATCH", path: "/api/echo/{name}", body: "*" }),
        },
        {
          name: "Mine",
          inputType: ".test.echo.v1.EchoRequest",
          outputType: ".test.echo.v1.EchoResponse",
          options: rule(Access.USER, { method: "GET", path: "/api/me/echo" }),
        },
        {
          name: "Internal",
          inputType: ".test.echo.v1.EchoRequest",
          outputType: ".test.echo.v1.EchoResponse",
        },
      ],
    },
  ],
});

const registry = createFileRegistry(fileProto, (name) =>
  name === "shop/api/v1/annotations.proto" ? file_shop_api_v1_annotations : undefined,
);

export const EchoService = registry.getService("test.echo.v1.EchoService") as DescService;
