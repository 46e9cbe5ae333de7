import {
  type DescEnum,
  type DescEnumValue,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  ScalarType,
} from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence, MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { codeName } from "@shopmesh/platform";
import { enumWords } from "../rest/enum-words.js";
import { queryNameOf } from "../rest/rest-codec.js";
import { httpStatusOf } from "../http/errors.js";
import { type ExposedMethod, type PathSegment, publicSurface } from "../rpc/public-surface.js";

/**
 * The OpenAPI 3.1 document of the edge's REST surface, built from the same descriptors and the
 * same rules the edge serves it with: the routes of `publicSurface`, snake_case JSON with zero
 * values present (rest-codec.ts), enum words (enum-words.ts), the error body and HTTP statuses
 * of errors.ts, the rate limits of protection.ts. The proto comments become the descriptions.
 */

/** The proto comment of an element (leading comment, trimmed), or undefined when there is none. */
export type CommentOf = (desc: DescService | DescMethod | DescMessage | DescField | DescEnum | DescEnumValue) => string | undefined;

export interface OpenApiOptions {
  /** The document's version (info.version). */
  readonly version: string;
  /** Request headers that fill a request field, as the REST router has them (rest.ts `defaultHeaderFields`). */
  readonly headerFields: Readonly<Record<string, string>>;
  readonly comments?: CommentOf;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

/** gRPC codes a route can answer whatever it does: the edge's own refusals and upstream failures. */
const alwaysPossible: readonly Code[] = [
  Code.InvalidArgument, // unknown query parameter or body field, malformed value
  Code.Unauthenticated, // a bearer token that is malformed or does not verify
  Code.ResourceExhausted, // rate limits
  Code.Internal,
  Code.Unavailable,
  Code.DeadlineExceeded,
];

const codeByName: ReadonlyMap<string, Code> = new Map(
  Object.values(Code)
    .filter((c): c is Code => typeof c === "number" && c !== Code.Unknown && c !== Code.DataLoss)
    .map((c) => [codeName(c).toUpperCase(), c]),
);

/** Codes a contract comment names ("NOT_FOUND for an unknown id"). */
export function codesNamedIn(text: string | undefined): Code[] {
  if (!text) return [];
  const out: Code[] = [];
  for (const m of text.matchAll(/\b[A-Z][A-Z_]+[A-Z]\b/g)) {
    const code = codeByName.get(m[0]);
    if (code !== undefined && !out.includes(code)) out.push(code);
  }
  return out;
}

/** Security scheme of the routes that act for a signed-in user. */
export const bearerAuthScheme = "bearerAuth";
/** Schema of every REST error body. */
export const errorSchemaName = "Error";

export function buildOpenApi(services: readonly DescService[], opts: OpenApiOptions): Record<string, unknown> {
  const comment: CommentOf = opts.comments ?? (() => undefined);
  const components = new Map<string, Schema>();
  const methods = publicSurface(services).filter((m): m is ExposedMethod & { http: NonNullable<ExposedMethod["http"]> } => !!m.http);

  const componentName = (m: DescMessage, mode: Mode) => (mode === "output" ? m.typeName : `${m.typeName}.Input`);

  /** A $ref to the schema of `m` (registered on first use). */
  const refTo = (m: DescMessage, mode: Mode): Schema => {
    const wkt = wellKnown(m);
    if (wkt) return wkt;
    const name = componentName(m, mode);
    if (!components.has(name)) {
      components.set(name, {}); // registered first: recursive types refer to it
      components.set(name, messageSchema(m, mode, new Set()));
    }
    return { $ref: `#/components/schemas/${name}` };
  };

  const fieldSchema = (f: DescField, mode: Mode): Schema => {
    let s: Schema;
    switch (f.fieldKind) {
      case "scalar":
        s = scalarSchema(f.scalar);
        break;
      case "enum":
        s = enumSchema(f.enum);
        break;
      case "message":
        s = refTo(f.message, mode);
        break;
      case "list":
        s = {
          type: "array",
          items: f.listKind === "scalar" ? scalarSchema(f.scalar) : f.listKind === "enum" ? enumSchema(f.enum) : refTo(f.message, mode),
        };
        break;
      case "map":
        s = {
          type: "object",
          additionalProperties:
            f.mapKind === "scalar" ? scalarSchema(f.scalar) : f.mapKind === "enum" ? enumSchema(f.enum) : refTo(f.message, mode),
        };
        break;
    }
    const text = comment(f);
    return text ? withDescription(s, text) : s;
  };

  /** An object schema of `m`'s fields; `omit` leaves out fields filled from the path or headers. */
  const messageSchema = (m: DescMessage, mode: Mode, omit: ReadonlySet<DescField>): Schema => {
    const properties: Schema = {};
    const required: string[] = [];
    for (const f of m.fields) {
      if (omit.has(f)) continue;
      properties[f.name] = fieldSchema(f, mode);
      // A request may also name a field by its declared json_name (RefundLine's "qty"), as the REST codec accepts it.
      if (mode === "input" && hasCustomJsonName(f)) properties[f.jsonName] = fieldSchema(f, mode);
      // Answers carry every field with implicit presence, zero values included (rest-codec.ts).
      if (mode === "output" && alwaysEmitted(f)) required.push(f.name);
    }
    const s: Schema = { type: "object", properties, additionalProperties: false };
    if (required.length > 0) s.required = required;
    const text = comment(m);
    if (text) s.description = text;
    return s;
  };

  const paths: Record<string, Record<string, Json>> = {};
  const tags: Json[] = [];
  for (const service of services) {
    if (!methods.some((m) => m.service === service)) continue;
    tags.push({ name: service.name, description: comment(service) ?? service.typeName });
  }

  for (const exposed of methods) {
    const { method, service, http } = exposed;
    const input = method.input;
    const pathFields = new Set(
      http.segments.filter((s): s is Extract<PathSegment, { field: DescField }> => "field" in s).map((s) => s.field),
    );
    const parameters: Json[] = [];
    for (const seg of http.segments) {
      if (!("field" in seg)) continue;
      parameters.push({ name: seg.name, in: "path", required: true, schema: paramSchema(seg.field), ...describe(comment(seg.field)) });
    }
    for (const [header, fieldName] of Object.entries(opts.headerFields)) {
      const f = input.fields.find((x) => x.name === fieldName);
      if (f?.fieldKind !== "scalar" || pathFields.has(f)) continue;
      parameters.push({
        name: headerName(header),
        in: "header",
        required: false,
        schema: paramSchema(f),
        description: `Fills \`${f.name}\` (the header wins over the body).${comment(f) ? ` ${comment(f)}` : ""}`,
      });
    }
    let requestBody: Json | undefined;
    if (http.bodyIsRequest) {
      const body = messageSchema(input, "input", pathFields);
      delete body.description;
      requestBody = {
        required: false,
        description: comment(input) ?? input.typeName,
        content: { "application/json": { schema: body } },
      };
    } else {
      for (const q of queryParams(input, pathFields)) {
        parameters.push({
          name: q.name,
          in: "query",
          required: false,
          schema: q.field.fieldKind === "list" ? { type: "array", items: paramSchema(q.field) } : paramSchema(q.field),
          ...(q.field.fieldKind === "list" ? { style: "form", explode: true } : {}),
          ...describe(comment(q.field)),
        });
      }
    }

    const output = http.responseBody;
    const successSchema: Schema = output
      ? output.fieldKind === "message"
        ? refTo(output.message, "output")
        : fieldSchema(output, "output")
      : refTo(method.output, "output");
    const responses: Record<string, Json> = {
      [String(http.successStatus)]: {
        description: output ? `The response's \`${output.name}\`.` : (comment(method.output) ?? method.output.typeName),
        content: { "application/json": { schema: successSchema } },
      },
    };
    for (const [status, codes] of errorStatuses(exposed, comment)) {
      responses[String(status)] = errorResponse(status, codes);
    }

    const text = comment(method);
    const operation: Record<string, Json> = {
      operationId: `${service.name}.${method.name}`,
      summary: summaryOf(text) ?? method.name,
      description: operationDescription(exposed, text),
      tags: [service.name],
      security: exposed.access === "public" ? [{}, { [bearerAuthScheme]: [] }] : [{ [bearerAuthScheme]: [] }],
      "x-rpc": `${service.typeName}/${method.name}`,
      ...(exposed.rateLimit ? { "x-rate-limit": exposed.rateLimit } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
    const byVerb = paths[http.template] ?? {};
    byVerb[http.method.toLowerCase()] = operation;
    paths[http.template] = byVerb;
  }

  const schemas: Record<string, Json> = { [errorSchemaName]: errorBodySchema() };
  for (const name of [...components.keys()].sort()) schemas[name] = components.get(name) as Schema;

  return {
    openapi: "3.1.0",
    info: {
      title: "shopmesh REST API",
      version: opts.version,
      summary: "The plain HTTP/JSON routes of the shopmesh edge, generated from the service contracts.",
      description: [
        "Every route here forwards to a gRPC method of a shopmesh service; the route, who may call it and its",
        "rate class are declared on the method in `proto/` (option `shop.api.v1.edge`), and this document is",
        "generated from the same descriptors the edge serves them from.",
        "",
        "Bodies are JSON with snake_case keys; every field with a plain value is present in answers, zero",
        "values included. Enum values are lower-case words without the enum's prefix",
        '(`ORDER_STATUS_PAID` is `"paid"`). 64-bit integers are strings.',
        "",
        "Errors answer with the HTTP status of their code and the body",
        '`{"code": "<lowercase code>", "message": "…"}`; a request with bad fields is 400 `invalid_argument`',
        "with one `field_violations` entry per bad field. Refusals by the rate limits are 429 with `Retry-After`",
        "(seconds): per client address, per signed-in user, and a stricter one per address for routes marked",
        "`x-rate-limit: credentials` (sign-up and sign-in).",
      ].join("\n"),
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: "/", description: "The edge that serves this document" }],
    tags,
    paths,
    components: {
      securitySchemes: {
        [bearerAuthScheme]: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The `access_token` of sign-up, sign-in or refresh (an ES256 JWT).",
        },
      },
      schemas,
    },
  };
}

type Mode = "input" | "output";

function describe(text: string | undefined): Record<string, string> {
  return text ? { description: text } : {};
}

function withDescription(s: Schema, description: string): Schema {
  // A $ref with siblings is allowed in 3.1; keep the description next to it.
  return { ...s, description };
}

/** "idempotency-key" → "Idempotency-Key". */
function headerName(h: string): string {
  return h
    .split("-")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("-");
}

/** Whether `f` declares a `json_name` of its own (not the lowerCamelCase of its name). */
function hasCustomJsonName(f: DescField): boolean {
  return f.jsonName !== f.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The first sentence of a comment, for an operation's summary. */
function summaryOf(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const flat = text.replace(/\s+/g, " ").trim();
  const m = /^(.+?\.)(\s|$)/.exec(flat);
  const s = (m ? m[1] : flat) as string;
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

function operationDescription(exposed: ExposedMethod, text: string | undefined): string {
  const access =
    exposed.access === "user"
      ? "Needs a signed-in user (`Authorization: Bearer <access_token>`); acts for that user."
      : exposed.access === "operator"
        ? "Needs an operator's access token (`Authorization: Bearer <access_token>` with the operator role); a shopper's is 403."
        : "Public; a bearer token is verified when present.";
  const rate = exposed.rateLimit === "credentials" ? " The stricter per-address limit for credentials applies." : "";
  return `${text ?? ""}\n\n${access}${rate} gRPC: \`${exposed.service.typeName}/${exposed.method.name}\`.`.trim();
}

/** Fields the REST encoding always writes: implicit presence, not in a oneof, not a message. */
function alwaysEmitted(f: DescField): boolean {
  if (f.fieldKind === "list" || f.fieldKind === "map") return true;
  if (f.fieldKind === "message") return false;
  return !f.oneof && f.presence === FeatureSet_FieldPresence.IMPLICIT;
}

/** Query parameters of a route without a body: scalar and enum fields, dotted into singular messages. */
function queryParams(input: DescMessage, omit: ReadonlySet<DescField>): Array<{ name: string; field: DescField }> {
  const out: Array<{ name: string; field: DescField }> = [];
  const walk = (m: DescMessage, prefix: string, seen: ReadonlySet<DescMessage>) => {
    for (const f of m.fields) {
      if (omit.has(f)) continue;
      const scalarOrEnum = f.fieldKind === "scalar" || f.fieldKind === "enum";
      if (scalarOrEnum || (f.fieldKind === "list" && (f.listKind === "scalar" || f.listKind === "enum"))) {
        // The field's query name first: the name the route's documentation and callers use.
        const alias = queryNameOf(f);
        if (alias !== undefined) out.push({ name: prefix + alias, field: f });
        out.push({ name: prefix + f.name, field: f });
      } else if (f.fieldKind === "message" && !wellKnown(f.message) && !seen.has(f.message)) {
        walk(f.message, `${prefix}${f.name}.`, new Set([...seen, f.message]));
      }
    }
  };
  walk(input, "", new Set([input]));
  return out;
}

/** The schema of a path, query or header parameter filling `f` (its text form, rest-codec.ts). */
function paramSchema(f: DescField): Schema {
  if (f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum")) return enumSchema(f.enum);
  if (f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")) {
    const s = scalarSchema(f.scalar);
    return s.format === "int64" || s.format === "uint64" ? { type: "string", pattern: "^-?[0-9]+$", format: s.format } : s;
  }
  return { type: "string" };
}

/** JSON form of each scalar type in proto3 JSON. */
export function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "int32", minimum: 0 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^[0-9]+$" };
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return { type: "number" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
  }
}

/** An enum as the edge puts it on the wire: its words (enum-words.ts). */
function enumSchema(e: DescEnum): Schema {
  return { type: "string", enum: [...new Set(enumWords(e).toWord.values())] };
}

/** Well-known types in their proto3 JSON forms. */
function wellKnown(m: DescMessage): Schema | undefined {
  switch (m.typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?s$" };
    case "google.protobuf.FieldMask":
      return { type: "string" };
    case "google.protobuf.Empty":
      return { type: "object", additionalProperties: false };
    case "google.protobuf.Struct":
      return { type: "object" };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array" };
    case "google.protobuf.Any":
      return { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"] };
    case "google.protobuf.StringValue":
      return { type: "string" };
    case "google.protobuf.BoolValue":
      return { type: "boolean" };
    case "google.protobuf.Int32Value":
    case "google.protobuf.UInt32Value":
      return { type: "integer" };
    case "google.protobuf.Int64Value":
    case "google.protobuf.UInt64Value":
      return { type: "string", pattern: "^-?[0-9]+$" };
    case "google.protobuf.FloatValue":
    case "google.protobuf.DoubleValue":
      return { type: "number" };
    case "google.protobuf.BytesValue":
      return { type: "string", contentEncoding: "base64" };
    default:
      return undefined;
  }
}

/**
 * The HTTP statuses a route can answer besides success, each with the codes behind it: the codes
 * its method's and service's comments name, those every route can answer, 409 `aborted` for
 * methods with side effects (a transaction that lost a conflict), and for routes with a body the
 * HTTP layer's 413 and 415. Statuses follow `httpStatusOf` (the errors table).
 */
export function errorStatuses(exposed: ExposedMethod, comment: CommentOf): Map<number, string[]> {
  const codes = new Set<Code>([...codesNamedIn(comment(exposed.method)), ...codesNamedIn(comment(exposed.service)), ...alwaysPossible]);
  if (exposed.method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) codes.add(Code.Aborted);
  // An operator route refuses a token without the operator role.
  if (exposed.access === "operator") codes.add(Code.PermissionDenied);
  const byStatus = new Map<number, string[]>();
  const add = (status: number, what: string) => {
    const list = byStatus.get(status) ?? [];
    if (!list.includes(what)) list.push(what);
    byStatus.set(status, list);
  };
  for (const code of [...codes].sort((a, b) => a - b)) add(httpStatusOf(code), codeName(code));
  if (exposed.http?.bodyIsRequest) {
    add(413, codeName(Code.ResourceExhausted));
    add(415, codeName(Code.InvalidArgument));
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

const statusText: Readonly<Record<number, string>> = {
  400: "The request is malformed or names bad fields (`field_violations`).",
  401: "No valid access token: missing where the route needs one, malformed, expired or not verifiable.",
  403: "The caller may not do this.",
  404: "Not found (or not the caller's).",
  409: "Conflicts with the current state; `aborted` may be retried.",
  413: "The body is larger than the edge accepts.",
  415: "The body is not JSON.",
  429: "A rate limit refused the request; retry after `Retry-After` seconds.",
  500: "internal error (the cause is logged, never sent).",
  501: "The service does not implement the method (gRPC UNIMPLEMENTED).",
  503: "A service the route needs is unavailable; retry later.",
  504: "The route's deadline passed.",
};

function errorResponse(status: number, codes: readonly string[]): Json {
  const out: Record<string, Json> = {
    description: `${statusText[status] ?? "Error."} Codes: ${codes.map((c) => `\`${c}\``).join(", ")}.`,
    content: {
      "application/json": { schema: { $ref: `#/components/schemas/${errorSchemaName}` } },
    },
  };
  if (status === 429) {
    out.headers = {
      "Retry-After": { description: "Seconds to wait before trying again.", schema: { type: "integer", minimum: 1 } },
    };
  }
  return out;
}

function errorBodySchema(): Schema {
  const codes = Object.values(Code)
    .filter((c): c is Code => typeof c === "number")
    .map((c) => codeName(c));
  return {
    type: "object",
    description: "Every REST error: the gRPC code in lower case, a message, and for bad fields one violation per field.",
    properties: {
      code: { type: "string", enum: codes },
      message: { type: "string" },
      field_violations: {
        type: "array",
        description: "One entry per bad field (google.rpc.BadRequest), with `invalid_argument`.",
        items: {
          type: "object",
          properties: {
            field: { type: "string", description: "Path of the field, e.g. `payment.card_number`." },
            description: { type: "string" },
          },
          required: ["field", "description"],
          additionalProperties: false,
        },
      },
    },
    required: ["code", "message"],
    additionalProperties: false,
  };
}
