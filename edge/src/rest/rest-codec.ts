import {
  create,
  type DescField,
  type DescMessage,
  fromJson,
  getOption,
  hasOption,
  type JsonValue,
  type JsonWriteOptions,
  type Message,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { invalidArgument } from "@shopmesh/platform";
import { query_name } from "@shopmesh/proto/shop/api/v1/annotations_pb.js";
import { violationOfDecodeError } from "../rpc/decode-error.js";
import { enumsFromWords, enumsToWords, parseEnumText } from "./enum-words.js";

/**
 * Conversions between REST requests/responses and protobuf messages: path and query parameters
 * typed by the field they fill, JSON bodies in proto3 JSON (snake_case or camelCase keys, enum
 * words accepted), responses as snake_case JSON with zero values present and enum words.
 */

/** INVALID_ARGUMENT about the request as a whole (no one field to name). */
const badRequest = (message: string, cause?: unknown) => new ConnectError(message, Code.InvalidArgument, undefined, undefined, cause);
/** INVALID_ARGUMENT naming `field` ("field: why"), with its field violation for the caller. */
const badField = (field: string, why: string) => invalidArgument(field, why);

const jsonWriteOptions: Partial<JsonWriteOptions> = { useProtoFieldName: true, alwaysEmitImplicit: true };

/** Request fields addressable by a parameter name: proto name, JSON name and query name. */
const paramFieldsCache = new Map<DescMessage, ReadonlyMap<string, DescField>>();

/** The other name a query parameter may fill `field` by (its `shop.api.v1.query_name` option), if any. */
export function queryNameOf(field: DescField): string | undefined {
  return hasOption(field, query_name) ? getOption(field, query_name) || undefined : undefined;
}

function paramFields(schema: DescMessage): ReadonlyMap<string, DescField> {
  let m = paramFieldsCache.get(schema);
  if (!m) {
    const map = new Map<string, DescField>();
    for (const f of schema.fields) {
      map.set(f.name, f);
      map.set(f.jsonName, f);
      const alias = queryNameOf(f);
      if (alias !== undefined) map.set(alias, f);
    }
    m = map;
    paramFieldsCache.set(schema, m);
  }
  return m;
}

type AnyMessage = Message & Record<string, unknown>;

/** Sets a singular field of a message object, honouring oneofs. */
function assign(msg: AnyMessage, field: DescField, value: unknown): void {
  if (field.oneof) msg[field.oneof.localName] = { case: field.localName, value };
  else msg[field.localName] = value;
}

function read(msg: AnyMessage, field: DescField): unknown {
  if (field.oneof) {
    const o = msg[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
    return o?.case === field.localName ? o.value : undefined;
  }
  return msg[field.localName];
}

const int32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const uint32 = { min: 0, max: 2 ** 32 - 1 };
const int64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const uint64 = { min: 0n, max: 2n ** 64n - 1n };

/** Parses the text of a parameter into the value of a scalar field. */
export function parseScalarText(field: DescField, type: ScalarType, text: string, name: string): unknown {
  switch (type) {
    case ScalarType.STRING:
      return text;
    case ScalarType.BOOL:
      if (text === "true" || text === "1") return true;
      if (text === "false" || text === "0") return false;
      throw badField(name, `expected true or false, got "${text}"`);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
    case ScalarType.UINT32:
    case ScalarType.FIXED32: {
      const range = type === ScalarType.UINT32 || type === ScalarType.FIXED32 ? uint32 : int32;
      if (!/^-?\d+$/.test(text)) throw badField(name, `expected an integer, got "${text}"`);
      const n = Number(text);
      if (n < range.min || n > range.max) throw badField(name, `${text} is out of range`);
      return n;
    }
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64: {
      const range = type === ScalarType.UINT64 || type === ScalarType.FIXED64 ? uint64 : int64;
      if (!/^-?\d+$/.test(text)) throw badField(name, `expected an integer, got "${text}"`);
      const n = BigInt(text);
      if (n < range.min || n > range.max) throw badField(name, `${text} is out of range`);
      return "longAsString" in field && field.longAsString ? n.toString() : n;
    }
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE: {
      const n = text === "NaN" ? Number.NaN : text.trim() === "" ? Number.NaN : Number(text);
      if (Number.isNaN(n) && text !== "NaN") throw badField(name, `expected a number, got "${text}"`);
      return n;
    }
    case ScalarType.BYTES:
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw badField(name, `expected base64, got "${text}"`);
      return new Uint8Array(Buffer.from(text, "base64"));
  }
}

function parseFieldText(field: DescField, text: string, name: string): unknown {
  const e = field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum") ? field.enum : undefined;
  if (e) {
    const n = parseEnumText(e, text);
    if (n === undefined) throw badField(name, `unknown value "${text}"`);
    return n;
  }
  if (field.fieldKind === "scalar") return parseScalarText(field, field.scalar, text, name);
  if (field.fieldKind === "list" && field.listKind === "scalar") return parseScalarText(field, field.scalar, text, name);
  throw badField(name, `cannot be set from a URL parameter`);
}

/**
 * Sets the field named by a query parameter (`page_size`, `pageSize`, or a dotted path into
 * singular message fields such as `payment.card_number`). Repeated fields take repeated keys.
 */
export function applyParam(schema: DescMessage, msg: Message, name: string, values: readonly string[]): void {
  const path = name.split(".");
  let target = msg as AnyMessage;
  let targetSchema = schema;
  for (let i = 0; i < path.length - 1; i++) {
    const f = paramFields(targetSchema).get(path[i] as string);
    if (f?.fieldKind !== "message") throw badField(name, "unknown query parameter");
    let sub = read(target, f) as AnyMessage | undefined;
    if (sub === undefined) {
      sub = create(f.message) as AnyMessage;
      assign(target, f, sub);
    }
    target = sub;
    targetSchema = f.message;
  }
  const field = paramFields(targetSchema).get(path[path.length - 1] as string);
  if (!field) throw badField(name, "unknown query parameter");
  if (field.fieldKind === "list") {
    const list = target[field.localName] as unknown[];
    for (const v of values) list.push(parseFieldText(field, v, name));
    return;
  }
  if (values.length > 1) throw badField(name, `given more than once`);
  assign(target, field, parseFieldText(field, values[0] as string, name));
}

/** Sets a singular field from the text of a path segment or header. */
export function setFieldFromText(msg: Message, field: DescField, text: string): void {
  assign(msg as AnyMessage, field, parseFieldText(field, text, field.name));
}

/** Decodes a JSON request body (empty → empty message) into a `schema` message. */
export function decodeJsonBody(schema: DescMessage, text: string): Message {
  if (text.trim() === "") return create(schema);
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw badRequest("malformed JSON body", err);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw badRequest("the JSON body must be an object");
  enumsFromWords(schema, json);
  try {
    return fromJson(schema, json);
  } catch (err) {
    throw jsonBodyError(schema, err);
  }
}

/** Rewrites protobuf-es decoding errors into errors that name the field, without type names. */
function jsonBodyError(schema: DescMessage, err: unknown): ConnectError {
  const msg = err instanceof Error ? err.message : String(err);
  const violation = violationOfDecodeError(schema, msg);
  if (violation) return badField(violation.field, violation.description);
  return badRequest(`invalid JSON body: ${msg.replace(/^cannot decode message [\w.]+ from JSON: /, "")}`, err);
}

/** The REST JSON of a response: snake_case, zero values present, enum words; `select` picks one field. */
export function encodeResponse(schema: DescMessage, msg: Message, select: DescField | undefined): string {
  if (select === undefined) return JSON.stringify(enumsToWords(schema, toJson(schema, msg, jsonWriteOptions)));
  if (select.fieldKind === "message") {
    const value = (read(msg as AnyMessage, select) as Message | undefined) ?? create(select.message);
    return JSON.stringify(enumsToWords(select.message, toJson(select.message, value, jsonWriteOptions)));
  }
  const whole = enumsToWords(schema, toJson(schema, msg, jsonWriteOptions)) as Record<string, JsonValue>;
  return JSON.stringify(whole[select.name] ?? null);
}
