import { create } from "@bufbuild/protobuf";
import { Int32ValueSchema, StringValueSchema } from "@bufbuild/protobuf/wkt";
import { expect, test } from "vitest";
import { createEnvelope, createEventRegistry, eventTopic, UnknownEventTypeError, uuidv7 } from "./envelope.js";

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
