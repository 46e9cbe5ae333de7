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

test("delivers in order per key, keys independently, and resolves publish once every event is handled", async () => {
  bus = createInProcessBus({ logger });
  const seen: string[] = [];
  bus.subscribe("g", [TYPE], async (e) => {
    // Earlier events of a key take longer: any reordering would show.
    await sleep(textOf(e).endsWith("1") ? 15 : 1);
    seen.push(textOf(e));
  });
  const published = bus.publish([event("a", "a1"), event("b", "b1"), event("a", "a2"), event("a", "a3"), event("b", "b2")]);
  expect(seen).toEqual([]);
  await published;
  expect(seen).toHaveLength(5);
  expect(seen.filter((v) => v.startsWith("a"))).toEqual(["a1", "a2", "a3"]);
  expect(seen.filter((v) => v.startsWith("b"))).toEqual(["b1", "b2"]);
});

test("a publish resolves only when every group has handled it, and events of overlapping publishes keep their order per key", async () => {
  bus = createInProcessBus({ logger });
  const seen: string[] = [];
  let releaseSlow!: () => void;
  const slow = new Promise<void>((resolve) => {
    releaseSlow = resolve;
  });
  bus.subscribe("fast", [TYPE], async (e) => void seen.push(`fast:${textOf(e)}`));
  bus.subscribe("slow", [TYPE], async (e) => {
    if (textOf(e) === "1") await slow;
    seen.push(`slow:${textOf(e)}`);
  });
  let firstDone = false;
  const first = bus.publish([event("k", "1")]).then(() => {
    firstDone = true;
  });
  const second = bus.publish([event("k", "2")]);
  await sleep(20);
  // The fast group has handled both; the slow one holds the first, and the second waits behind it.
  expect(seen).toEqual(["fast:1", "fast:2"]);
  expect(firstDone).toBe(false);
  releaseSlow();
  await Promise.all([first, second]);
  expect(seen).toEqual(["fast:1", "fast:2", "slow:1", "slow:2"]);
});

test("a publish with no group for its types resolves at once", async () => {
  bus = createInProcessBus({ logger });
  bus.subscribe("g", ["shop.other.v1.Other"], async () => expect.fail("not subscribed to this type"));
  await bus.publish([event("k", "1")]);
});

test("a held bus delivers nothing until released, then delivers to the groups subscribed by then", async () => {
  bus = createInProcessBus({ logger, held: true });
  const seen: string[] = [];
  let done = false;
  const published = bus.publish([event("k", "1")]).then(() => {
    done = true;
  });
  // Subscribed after the publish: a held bus still delivers to it.
  bus.subscribe("late", [TYPE], async (e) => void seen.push(textOf(e)));
  await sleep(10);
  expect(seen).toEqual([]);
  expect(done).toBe(false);
  bus.release();
  await published;
  expect(seen).toEqual(["1"]);
});

test("a delivery dropped because its group unsubscribed rejects the publish, so the relay publishes it again", async () => {
  bus = createInProcessBus({ logger, retry: { initialMs: 5, maxMs: 5 } });
  const subscription = bus.subscribe("g", [TYPE], async () => {
    throw new Error("database away");
  });
  const published = bus.publish([event("k", "1")]);
  await sleep(10);
  await subscription.unsubscribe();
  await expect(published).rejects.toThrow(/dropped/);
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
  const published = bus.publish([event("k", "1"), event("k", "2")]);
  await bus.close();
  await published;
  expect(seen).toEqual(["1", "2"]);
  await expect(bus.publish([event("k", "3")])).rejects.toThrow(/closed/);
});

test("close drops what a failing handler still holds after the timeout, and those publishes reject", async () => {
  bus = createInProcessBus({ logger, retry: { initialMs: 5, maxMs: 5 }, closeTimeoutMs: 30 });
  bus.subscribe("g", [TYPE], async () => {
    throw new Error("database away");
  });
  const published = bus.publish([event("k", "1"), event("k", "2")]);
  const outcome = published.then(
    () => "resolved",
    () => "rejected",
  );
  await bus.close();
  expect(await outcome).toBe("rejected");
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
