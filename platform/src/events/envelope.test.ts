import { create, ScalarType } from "@bufbuild/protobuf";
import { Int32ValueSchema, StringValueSchema } from "@bufbuild/protobuf/wkt";
import { expect, test } from "vitest";
import { file_shop_auth_v1_events } from "@shopmesh/proto/shop/auth/v1/events_pb.js";
import { file_shop_catalog_v1_events } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { file_shop_order_v1_events, OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { file_shop_payment_v1_events } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { createEnvelope, createEventRegistry, eventKeyField, eventTopic, UnknownEventTypeError, uuidv7 } from "./envelope.js";

test("an envelope carries the message's full name and binary, and decodes back", () => {
  const event = createEnvelope(StringValueSchema, create(StringValueSchema, { value: "hello" }), {
    source: "order",
    key: "o-1",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  });
  expect(event).toMatchObject({ type: "google.protobuf.StringValue", source: "order", key: "o-1" });
  expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(event.payload).toBeInstanceOf(Uint8Array);

  const registry = createEventRegistry([StringValueSchema, Int32ValueSchema]);
  expect(registry.decode(event)).toMatchObject({ $typeName: "google.protobuf.StringValue", value: "hello" });
  expect(registry.decodeAs(StringValueSchema, event).value).toBe("hello");
});

test("an unknown type, or another type than expected, is a clear error", () => {
  const event = createEnvelope(StringValueSchema, create(StringValueSchema, { value: "x" }), { source: "order", key: "o-1" });
  const registry = createEventRegistry([Int32ValueSchema]);
  expect(() => registry.decode(event)).toThrow(UnknownEventTypeError);
  expect(() => registry.decode(event)).toThrow(/unknown event type "google.protobuf.StringValue"; known: google.protobuf.Int32Value/);
  expect(() => registry.decodeAs(Int32ValueSchema, event)).toThrow(UnknownEventTypeError);
});

test("an envelope needs a key, and the message must match the schema", () => {
  expect(() => createEnvelope(StringValueSchema, create(StringValueSchema), { source: "order", key: "" })).toThrow(/key/);
  const wrong = create(Int32ValueSchema) as unknown as ReturnType<typeof create<typeof StringValueSchema>>;
  expect(() => createEnvelope(StringValueSchema, wrong, { source: "order", key: "k" })).toThrow(/does not match/);
});

test("UUIDv7 ids sort by creation time", () => {
  const a = uuidv7(1_700_000_000_000);
  const b = uuidv7(1_700_000_000_001);
  expect(a < b).toBe(true);
  expect(a.slice(0, 13)).toBe("018bcfe5-6800");
});

test("an event's topic is its type's package", () => {
  expect(eventTopic("shop.order.v1.OrderPlaced")).toBe("shop.order.v1");
  expect(() => eventTopic("OrderPlaced")).toThrow(/full message name/);
  expect(() => eventTopic("shop.order.v1.")).toThrow(/full message name/);
});

test("a registry knows its types and the key field their contracts name", () => {
  const registry = createEventRegistry([OrderPlacedSchema, StringValueSchema]);
  expect(registry.types).toEqual(["shop.order.v1.OrderPlaced", "google.protobuf.StringValue"]);
  expect(registry.keyField("shop.order.v1.OrderPlaced")).toBe("order_id");
  expect(registry.keyField("google.protobuf.StringValue")).toBeUndefined();
  expect(registry.keyField("shop.order.v1.Unknown")).toBeUndefined();
});

test("every domain event of the contracts names its key field, a string field of its own", () => {
  const files = [file_shop_auth_v1_events, file_shop_catalog_v1_events, file_shop_order_v1_events, file_shop_payment_v1_events];
  for (const schema of files.flatMap((f) => f.messages)) {
    const field = eventKeyField(schema);
    expect(field, schema.typeName).toBeDefined();
    expect(schema.fields.find((f) => f.name === field)?.scalar, schema.typeName).toBe(ScalarType.STRING);
  }
});
