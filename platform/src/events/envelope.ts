import { randomBytes } from "node:crypto";
import {
  type DescMessage,
  fromBinary,
  getOption,
  hasOption,
  type JsonObject,
  type Message,
  type MessageShape,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { event as eventRule } from "@shopmesh/proto/shop/api/v1/annotations_pb.js";
import { currentTraceparent } from "../telemetry/tracing.js";

/**
 * One domain event as it travels: from the producer's outbox, over the bus, into a
 * consumer's inbox. The metadata maps one to one onto CloudEvents binary mode on Kafka
 * (`ce_id`, `ce_type`, `ce_source`, `ce_time`, the message key, `traceparent`).
 */
export interface Envelope {
  /** Unique per event (a UUIDv7); consumers dedupe on it. */
  readonly id: string;
  /** The full protobuf message name, e.g. `shop.order.v1.OrderPlaced`. */
  readonly type: string;
  /** The producing service, e.g. `order`. */
  readonly source: string;
  /** When the event happened. */
  readonly time: Date;
  /** The aggregate id (e.g. the order id): events with the same key are delivered in order. */
  readonly key: string;
  /** The protobuf binary encoding of the message named by {@link Envelope.type}. */
  readonly payload: Uint8Array;
  /** W3C trace context of the producing request, when there was one. */
  readonly traceparent?: string | undefined;
}

/** Suffix of a topic's dead-letter topic: `shop.order.v1` → `shop.order.v1.dlq`. */
export const DEAD_LETTER_SUFFIX = ".dlq";

/** The topic of an event type: its protobuf package, e.g. `shop.order.v1.OrderPlaced` → `shop.order.v1`. */
export function eventTopic(type: string): string {
  const dot = type.lastIndexOf(".");
  if (dot <= 0 || dot === type.length - 1)
    throw new Error(`event type ${JSON.stringify(type)} is not a full message name (package.Message)`);
  return type.slice(0, dot);
}

export interface EnvelopeOptions {
  source: string;
  key: string;
  /** Defaults to the span active where the event is created: its consumers continue that trace. */
  traceparent?: string | undefined;
  /** Defaults to a fresh UUIDv7. */
  id?: string;
  /** Defaults to now. */
  time?: Date;
}

/** Wraps a protobuf-es message: `createEnvelope(OrderPlacedSchema, msg, { source: "order", key: orderId })`. */
export function createEnvelope<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, opts: EnvelopeOptions): Envelope {
  if (message.$typeName !== schema.typeName) {
    throw new Error(`message ${message.$typeName} does not match schema ${schema.typeName}`);
  }
  if (!opts.key) throw new Error(`event ${schema.typeName}: key (the aggregate id) is required`);
  return {
    id: opts.id ?? uuidv7(),
    type: schema.typeName,
    source: opts.source,
    time: opts.time ?? new Date(),
    key: opts.key,
    payload: toBinary(schema, message),
    traceparent: opts.traceparent ?? currentTraceparent(),
  };
}

/** Thrown when decoding an event whose type the registry does not know (or not the expected one). */
export class UnknownEventTypeError extends Error {
  override readonly name = "UnknownEventTypeError";
  constructor(
    readonly type: string,
    known: readonly string[],
  ) {
    super(`unknown event type ${JSON.stringify(type)}; known: ${known.join(", ") || "none"}`);
  }
}

/**
 * The field an event declares in its contract as holding its key (`option (shop.api.v1.event) =
 * {key: "order_id"}`), or undefined when it declares none.
 */
export function eventKeyField(schema: DescMessage): string | undefined {
  return (hasOption(schema, eventRule) && getOption(schema, eventRule).key) || undefined;
}

/** The event types a consumer understands, to decode payloads by {@link Envelope.type}. */
export interface EventRegistry {
  /** The full names of the types, e.g. to subscribe to. */
  readonly types: readonly string[];
  has(type: string): boolean;
  /** The field the type's contract names as its key ({@link eventKeyField}); undefined for a type without one or not known. */
  keyField(type: string): string | undefined;
  /** Decodes by the envelope's type; narrow the result with `isMessage(msg, XSchema)`. */
  decode(envelope: Envelope): Message;
  /** Decodes as `schema`; throws {@link UnknownEventTypeError} when the envelope carries another type. */
  decodeAs<Desc extends DescMessage>(schema: Desc, envelope: Envelope): MessageShape<Desc>;
}

/** Every event schema a registry of this process was created with, by type: what dead letters are decoded with. */
const knownSchemas = new Map<string, DescMessage>();

/**
 * The payload of an event of `type` as Protobuf JSON, decoded with the schema of a registry this
 * process created ({@link createEventRegistry}); undefined when no registry knows the type.
 */
export function eventPayloadJson(type: string, payload: Uint8Array): JsonObject | undefined {
  const schema = knownSchemas.get(type);
  if (!schema) return undefined;
  return toJson(schema, fromBinary(schema, payload), { useProtoFieldName: true }) as JsonObject;
}

export function createEventRegistry(schemas: readonly DescMessage[]): EventRegistry {
  for (const s of schemas) knownSchemas.set(s.typeName, s);
  const byType = new Map(schemas.map((s) => [s.typeName, s]));
  const known = [...byType.keys()];
  return {
    types: known,
    has: (type) => byType.has(type),
    keyField(type) {
      const schema = byType.get(type);
      return schema && eventKeyField(schema);
    },
    decode(envelope) {
      const schema = byType.get(envelope.type);
      if (!schema) throw new UnknownEventTypeError(envelope.type, known);
      return fromBinary(schema, envelope.payload);
    },
    decodeAs(schema, envelope) {
      if (envelope.type !== schema.typeName || !byType.has(schema.typeName)) throw new UnknownEventTypeError(envelope.type, known);
      return fromBinary(schema, envelope.payload);
    },
  };
}

/** RFC 9562 UUIDv7: 48-bit Unix milliseconds, then random bits; sorts by creation time. */
export function uuidv7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
