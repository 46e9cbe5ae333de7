import { create, fromBinary } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { afterEach, expect, test } from "vitest";
import { createLogger } from "../logger.js";
import { createEnvelope, type Envelope } from "./envelope.js";
import { createInProcessBus, type InProcessBus } from "./in-process-bus.js";

const logger = createLogger({ level: "silent" });
const TYPE = StringValueSchema.typeName;
const event = (key: string, value: string) =>
  createEnvelope(StringValueSchema, create(StringValueSchema, { value }), { source: "test", key });
const textOf = (e: Envelope) => fromBinary(StringValueSchema, e.payload).value;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let bus: InProcessBus;
afterEach(() => bus.close());

test("delivers in order per key, keys independently, and returns from publish before delivery", async () => {
  bus = createInProcessBus({ logger });
  const seen: string[] = [];
  bus.subscribe("g", [TYPE], async (e) => {
    // Earlier events of a key take longer: any reordering would show.
    await sleep(textOf(e).endsWith("1") ? 15 : 1);
    seen.push(textOf(e));
  });
  await bus.publish([event("a", "a1"), event("b", "b1"), event("a", "a2"), event("a", "a3"), event("b", "b2")]);
  expect(seen).toEqual([]);
  await bus.drain();
  expect(seen.filter((v) => v.startsWith("a"))).toEqual(["a1", "a2", "a3"]);
  expect(seen.filter((v) => v.startsWith("b"))).toEqual(["b1", "b2"]);
});

test("every group gets every event of its types once; other types are not delivered", async () => {
  bus = createInProcessBus({ logger });
  const seen: Record<string, string[]> = { payment: [], notification: [] };
  bus.subscribe("payment", [TYPE], async (e) => void seen.payment!.push(textOf(e)));
  bus.subscribe("notification", [TYPE], async (e) => void seen.notification!.push(textOf(e)));
  bus.subscribe("catalog", ["shop.other.v1.Other"], async () => expect.fail("not subscribed to this type"));
  await bus.publish([event("k", "1"), event("k", "2")]);
  await bus.drain();
  expect(seen).toEqual({ payment: ["1", "2"], notification: ["1", "2"] });
  expect(() => bus.subscribe("payment", [TYPE], async () => {})).toThrow(/already has a handler/);
});

test("a failing handler gets the event again after a backoff, and later events of the key wait", async () => {
  bus = createInProcessBus({ logger, retry: { initialMs: 2, maxMs: 10 } });
  const seen: string[] = [];
  let failures = 3;
  bus.subscribe("g", [TYPE], async (e) => {
    if (textOf(e) === "1" && failures-- > 0) throw new Error("database away");
    seen.push(textOf(e));
  });
  await bus.publish([event("k", "1"), event("k", "2")]);
  await bus.drain();
  expect(seen).toEqual(["1", "2"]);
  expect(failures).toBe(-1);
});

test("close waits for queued events, then refuses to publish", async () => {
  bus = createInProcessBus({ logger });
  const seen: string[] = [];
  bus.subscribe("g", [TYPE], async (e) => {
    await sleep(2);
    seen.push(textOf(e));
  });
  await bus.publish([event("k", "1"), event("k", "2")]);
  await bus.close();
  expect(seen).toEqual(["1", "2"]);
  await expect(bus.publish([event("k", "3")])).rejects.toThrow(/closed/);
});

test("after unsubscribe a group gets no more events", async () => {
  bus = createInProcessBus({ logger });
  const seen: string[] = [];
  const subscription = bus.subscribe("g", [TYPE], async (e) => void seen.push(textOf(e)));
  await bus.publish([event("k", "1")]);
  await bus.drain();
  await subscription.unsubscribe();
  await bus.publish([event("k", "2")]);
  await bus.drain();
  expect(seen).toEqual(["1"]);
});
