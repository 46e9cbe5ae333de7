import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { type Consumer, Kafka, type KafkaMessage, logLevel, Partitioners } from "kafkajs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger } from "../logger.js";
import { describeWithKafka, type KafkaTestBroker, useKafkaBroker, waitUntil } from "../testing/index.js";
import { type Envelope, uuidv7 } from "./envelope.js";
import { deadLetterVia, type EventHandler } from "./event-bus.js";
import { createInProcessBus } from "./in-process-bus.js";
import { createKafkaBus, type KafkaBus, type KafkaBusOptions } from "./kafka-bus.js";

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const PUBLISH_TIMEOUT_MS = 1_500;

/** A topic of its own per test: `shop.t<hex>.v1`, and its types. */
function freshDomain(): { topic: string; type: (name: string) => string } {
  const topic = `shop.t${randomBytes(4).toString("hex")}.v1`;
  return { topic, type: (name: string) => `${topic}.${name}` };
}

function event(type: string, key: string, text: string, extra: Partial<Envelope> = {}): Envelope {
  return {
    id: uuidv7(),
    type,
    source: "test",
    time: new Date(),
    key,
    payload: new TextEncoder().encode(text),
    traceparent: undefined,
    ...extra,
  };
}

const text = (e: Envelope) => new TextDecoder().decode(e.payload);
const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type OnFinished = (fn: () => Promise<void>) => void;

/**
 * Plain kafkajs clients against `broker` and buses closed when their test finishes. Each test
 * takes topics of its own from a pool that one reader group follows from the start (a new
 * group costs the mock's 3 s initial rebalance delay, so tests share that one).
 */
function useKafka(broker: KafkaTestBroker, poolSize: number) {
  const pool = Array.from({ length: poolSize }, freshDomain);
  let taken = 0;
  const seen = new Map<string, KafkaMessage[]>();
  let reader: Consumer | undefined;
  const plain = () =>
    new Kafka({ brokers: broker.brokers, clientId: "plain", logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } });

  beforeAll(async () => {
    reader = plain().consumer({ groupId: `reader-${randomBytes(4).toString("hex")}`, maxWaitTimeInMs: 50 });
    await reader.connect();
    await reader.subscribe({ topics: pool.flatMap((d) => [d.topic, `${d.topic}.dlq`]), fromBeginning: true });
    await reader.run({
      eachMessage: async ({ topic, message }) => {
        seen.set(topic, [...(seen.get(topic) ?? []), message]);
      },
    });
  });
  afterAll(async () => {
    await reader?.disconnect();
  });

  return {
    domain() {
      const d = pool[taken++];
      if (!d) throw new Error("topic pool exhausted: raise its size");
      return d;
    },
    session(onFinished: OnFinished) {
      return {
        bus(opts: Partial<KafkaBusOptions> = {}): KafkaBus {
          const bus = createKafkaBus({
            brokers: broker.brokers,
            clientId: "test",
            logger,
            publishTimeoutMs: PUBLISH_TIMEOUT_MS,
            maxAttempts: 3,
            retry: { initialMs: 10, maxMs: 50 },
            // The mock delays a group's rejoin by the session timeout less 1 s.
            sessionTimeoutMs: 4_000,
            ...opts,
          });
          onFinished(() => bus.close());
          return bus;
        },
        /** The messages of a pool topic (in partition order), once `count` are there. */
        async read(topic: string, count: number): Promise<KafkaMessage[]> {
          await waitUntil(() => (seen.get(topic)?.length ?? 0) >= count, { timeoutMs: 15_000, what: `${count} message(s) on ${topic}` });
          return seen.get(topic)!;
        },
        async produceRaw(topic: string, messages: Array<{ key?: string; value: string; headers?: Record<string, string> }>): Promise<void> {
          const producer = plain().producer({ createPartitioner: Partitioners.DefaultPartitioner });
          await producer.connect();
          try {
            await producer.send({ topic, acks: -1, messages });
          } finally {
            await producer.disconnect();
          }
        },
        /** The group's committed offsets of `topic`, summed over partitions (-1 counting as 0). */
        async committed(groupId: string, topic: string): Promise<number> {
          const admin = plain().admin();
          await admin.connect();
          try {
            const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
            return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
          } finally {
            await admin.disconnect();
          }
        },
      };
    },
  };
}

/**
 * A consumer process (the built bus) of group GROUP on TYPE at BROKERS: prints "subscribed",
 * then "handling <event id>" for the event it gets, and never finishes handling it.
 */
const DYING_CONSUMER = `
const { createKafkaBus } = await import(${JSON.stringify(new URL("../../dist/events/kafka-bus.js", import.meta.url).href)});
const { createLogger } = await import(${JSON.stringify(new URL("../../dist/logger.js", import.meta.url).href)});
const bus = createKafkaBus({
  brokers: process.env.BROKERS.split(","),
  clientId: "dying",
  logger: createLogger({ level: "silent" }),
  sessionTimeoutMs: 4000,
});
bus.subscribe(process.env.GROUP, [process.env.TYPE], (event) => {
  console.log("handling " + event.id);
  return new Promise(() => {});
});
console.log("subscribed");
`;

const groupName = () => `g-${randomBytes(3).toString("hex")}`;

/** A handler recording what it got. */
function recorder(behaviour: (e: Envelope, seen: number) => Promise<void> | void = () => {}) {
  const got: Envelope[] = [];
  const handler: EventHandler = async (e) => {
    got.push(e);
    await behaviour(e, got.filter((g) => g.id === e.id).length);
  };
  return { got, handler, texts: () => got.map(text) };
}

describe("deadLetterVia", () => {
  test("resolves on a bus without a dead-letter place", async () => {
    const bus = createInProcessBus({ logger });
    await expect(deadLetterVia(bus, "g")(event("shop.x.v1.X", "k", "a"), new Error("boom"))).resolves.toBeUndefined();
    await bus.close();
  });
});

// Concurrent (most of a test's time is the mock's 3 s rebalance delay when a group first joins):
// on one broker each test on topics and groups of its own; on another, tests that take the
// broker away, one after the other.
describe.concurrent("Kafka bus", () => {
  describeWithKafka("on a shared broker", () => {
    const broker = useKafkaBroker();
    const kafka = useKafka(broker, 24);
    test("publish → subscribe round trip, with CloudEvents headers on the wire", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const bus = k.bus();
      const r = recorder();
      bus.subscribe(groupName(), [d.type("Happened")], r.handler);
      const sent = event(d.type("Happened"), "order-1", "hello", {
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        time: new Date("2026-11-24T10:00:00.123Z"),
      });
      await bus.publish([sent]);
      await waitUntil(() => r.got.length === 1);
      const got = r.got[0]!;
      expect({ ...got, payload: text(got) }).toEqual({ ...sent, payload: "hello" });
      expect(got.payload).toBeInstanceOf(Uint8Array);

      const [wire] = await k.read(d.topic, 1);
      expect(wire!.key?.toString()).toBe("order-1");
      expect(wire!.value?.toString()).toBe("hello");
      expect(Object.fromEntries(Object.entries(wire!.headers ?? {}).map(([name, v]) => [name, v?.toString()]))).toEqual({
        ce_specversion: "1.0",
        ce_id: sent.id,
        ce_source: "test",
        ce_type: d.type("Happened"),
        ce_time: "2026-11-24T10:00:00.123Z",
        "content-type": "application/protobuf",
        traceparent: sent.traceparent,
      });
    });

    test("an event without traceparent has no such header; an empty payload stays empty", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const bus = k.bus();
      const r = recorder();
      bus.subscribe(groupName(), [d.type("Empty")], r.handler);
      await bus.publish([event(d.type("Empty"), "k", "")]);
      await waitUntil(() => r.got.length === 1);
      expect(r.got[0]!.payload.byteLength).toBe(0);
      expect(r.got[0]!.traceparent).toBeUndefined();
      const [wire] = await k.read(d.topic, 1);
      expect(wire!.headers?.traceparent).toBeUndefined();
    });

    test("events of one key arrive in order, across batches, types and partitions", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const other = kafka.domain();
      const bus = k.bus();
      const r = recorder(() => sleep(Math.random() * 3));
      bus.subscribe(groupName(), [d.type("A"), d.type("B"), other.type("C")], r.handler);
      const keys = ["k1", "k2", "k3", "k4", "k5", "k6"];
      const expected = new Map<string, string[]>(keys.map((key) => [key, []]));
      for (let batch = 0; batch < 5; batch++) {
        const events: Envelope[] = [];
        for (let i = 0; i < 12; i++) {
          const key = keys[(batch + i) % keys.length]!;
          const e = event(i % 3 === 0 ? d.type("A") : d.type("B"), key, `${key}-${batch}-${i}`);
          events.push(e);
          expected.get(key)!.push(text(e));
        }
        if (batch === 2) events.push(event(other.type("C"), "k1", "other"));
        await bus.publish(events);
      }
      await waitUntil(() => r.got.length === 61, { timeoutMs: 15_000, what: "61 events" });
      const byKey = new Map<string, string[]>();
      for (const e of r.got) {
        if (e.type !== other.type("C")) byKey.set(e.key, [...(byKey.get(e.key) ?? []), text(e)]);
      }
      expect(byKey).toEqual(expected);
      const wire = await k.read(d.topic, 60);
      expect(new Set(wire.map((m) => m.key?.toString())).size).toBe(keys.length);
    });

    test("the offset is committed only once the handler resolved; a restarted consumer does not redeliver", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const group = groupName();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const first = k.bus();
      const r1 = recorder(() => gate);
      first.subscribe(group, [d.type("E")], r1.handler);
      await first.publish([event(d.type("E"), "k", "one")]);
      await waitUntil(() => r1.got.length === 1);
      await sleep(200);
      expect(await k.committed(group, d.topic)).toBe(0);
      release();
      await waitUntil(async () => (await k.committed(group, d.topic)) === 1, { timeoutMs: 5_000, what: "the commit" });
      await first.close();

      const second = k.bus();
      const r2 = recorder();
      second.subscribe(group, [d.type("E")], r2.handler);
      await second.publish([event(d.type("E"), "k", "two")]);
      await waitUntil(() => r2.got.length >= 1);
      await sleep(300);
      expect(r2.texts()).toEqual(["two"]);
    });

    test("an event still failing when the bus closes stays uncommitted and is delivered again after a restart", async ({
      onTestFinished,
    }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const group = groupName();
      const away = new Error("database away");
      const first = k.bus({ isTransient: (err) => err === away });
      const r1 = recorder(() => {
        throw away;
      });
      first.subscribe(group, [d.type("E")], r1.handler);
      await first.publish([event(d.type("E"), "k", "pending")]);
      await waitUntil(() => r1.got.length >= 2);
      await first.close();
      expect(await k.committed(group, d.topic)).toBe(0);

      const second = k.bus();
      const r2 = recorder();
      second.subscribe(group, [d.type("E")], r2.handler);
      await waitUntil(() => r2.got.length === 1, { timeoutMs: 15_000, what: "the redelivery" });
      expect(r2.texts()).toEqual(["pending"]);
    });

    test("an event whose consumer process is killed mid-handler is delivered again to a new consumer of its group", async ({
      onTestFinished,
    }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const group = groupName();
      const sent = event(d.type("E"), "k", "interrupted");
      // The first consumer runs in a process of its own, whose handler never finishes; it is
      // SIGKILLed once the handler has the event, as a crash would end it.
      const child = spawn(process.execPath, ["--input-type=module", "-e", DYING_CONSUMER], {
        env: { ...process.env, BROKERS: broker.brokers.join(","), GROUP: group, TYPE: d.type("E") },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const exited = once(child, "exit");
      onTestFinished(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await exited;
      });
      const lines = createInterface({ input: child.stdout! });
      const handling = new Promise<string>((resolve) => lines.on("line", (line) => line.startsWith("handling ") && resolve(line)));
      await once(lines, "line"); // "subscribed"
      await k.bus().publish([sent]);
      expect(await handling).toBe(`handling ${sent.id}`);
      child.kill("SIGKILL");
      await exited;
      expect(await k.committed(group, d.topic)).toBe(0);

      const second = k.bus({ sessionTimeoutMs: 4_000 });
      const r = recorder();
      second.subscribe(group, [d.type("E")], r.handler);
      await waitUntil(() => r.got.length === 1, { timeoutMs: 25_000, what: "the redelivery" });
      expect(r.got[0]!.id).toBe(sent.id);
      await waitUntil(async () => (await k.committed(group, d.topic)) === 1, {
        timeoutMs: 5_000,
        what: "the commit after the handler resolved",
      });
    });

    test("a failing handler is retried: the event is delivered again, then the next one", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const group = groupName();
      const bus = k.bus();
      const r = recorder((e, seen) => {
        if (text(e) === "flaky" && seen < 3) throw new Error("not yet");
      });
      bus.subscribe(group, [d.type("E")], r.handler);
      await bus.publish([event(d.type("E"), "k", "flaky"), event(d.type("E"), "k", "next")]);
      await waitUntil(() => r.texts().includes("next"));
      expect(r.texts()).toEqual(["flaky", "flaky", "flaky", "next"]);
      await waitUntil(async () => (await k.committed(group, d.topic)) === 2, { timeoutMs: 5_000, what: "the commits" });
    });

    test("a handler failing maxAttempts times sends the message to <topic>.dlq and the consumer moves on", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const group = groupName();
      const bus = k.bus();
      const r = recorder((e) => {
        if (text(e) === "poison") throw new TypeError("cannot digest");
      });
      bus.subscribe(group, [d.type("E")], r.handler);
      const poison = event(d.type("E"), "k", "poison", { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
      await bus.publish([poison, event(d.type("E"), "k", "fine")]);
      await waitUntil(() => r.texts().includes("fine"));
      expect(r.texts()).toEqual(["poison", "poison", "poison", "fine"]);

      const [dead] = await k.read(`${d.topic}.dlq`, 1);
      expect(dead!.key?.toString()).toBe("k");
      expect(dead!.value?.toString()).toBe("poison");
      expect(header(dead!, "ce_id")).toBe(poison.id);
      expect(header(dead!, "ce_type")).toBe(d.type("E"));
      expect(header(dead!, "traceparent")).toBe(poison.traceparent);
      expect(header(dead!, "dlq_error")).toBe("TypeError: cannot digest");
      expect(header(dead!, "dlq_group")).toBe(group);
      expect(header(dead!, "dlq_attempts")).toBe("3");
      expect(header(dead!, "dlq_topic")).toBe(d.topic);
      await waitUntil(async () => (await k.committed(group, d.topic)) === 2, { timeoutMs: 5_000, what: "the commits" });
    });

    test("transient failures are retried beyond maxAttempts, not dead-lettered", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const group = groupName();
      const away = new Error("database away");
      const bus = k.bus({ isTransient: (err) => err === away });
      const r = recorder((_e, seen) => {
        if (seen <= 5) throw away;
      });
      bus.subscribe(group, [d.type("E")], r.handler);
      await bus.publish([event(d.type("E"), "k", "patience")]);
      await waitUntil(() => r.got.length === 6);
      await waitUntil(async () => (await k.committed(group, d.topic)) === 1, { timeoutMs: 5_000, what: "the commit" });
    });

    test("a message that is no event goes straight to the DLQ", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const group = groupName();
      const bus = k.bus();
      const r = recorder();
      bus.subscribe(group, [d.type("E")], r.handler);
      const valid = event(d.type("E"), "k", "valid");
      const ceHeaders = {
        ce_specversion: "1.0",
        ce_id: valid.id,
        ce_source: "test",
        ce_type: d.type("E"),
        ce_time: new Date().toISOString(),
      };
      await k.produceRaw(d.topic, [
        { key: "k", value: "no headers at all" },
        { key: "k", value: "no id", headers: { ...ceHeaders, ce_id: "" } },
        { key: "k", value: "bad time", headers: { ...ceHeaders, ce_time: "yesterday" } },
        { key: "k", value: "bad type", headers: { ...ceHeaders, ce_type: "Unqualified" } },
        { key: "k", value: "json", headers: { ...ceHeaders, "content-type": "application/json" } },
        { value: "no key", headers: ceHeaders },
      ]);
      await bus.publish([valid]);
      await waitUntil(() => r.got.length === 1);
      expect(r.texts()).toEqual(["valid"]);
      const dead = await k.read(`${d.topic}.dlq`, 6);
      expect(Object.fromEntries(dead.map((m) => [m.value?.toString(), header(m, "dlq_error")]))).toEqual({
        "no headers at all": 'ce_specversion is undefined, not "1.0"',
        "no id": "header ce_id missing",
        "bad time": 'ce_time "yesterday" is not an RFC 3339 time',
        "bad type": 'ce_type "Unqualified" is not a full message name',
        json: 'content-type "application/json" is not application/protobuf',
        "no key": "message key (the aggregate id) missing",
      });
      expect(dead.every((m) => header(m, "dlq_attempts") === "0" && header(m, "dlq_group") === group)).toBe(true);
      await waitUntil(async () => (await k.committed(group, d.topic)) === 7, { timeoutMs: 5_000, what: "the commits" });
    });

    test("events of types without a handler are skipped and committed", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const group = groupName();
      const bus = k.bus();
      const r = recorder();
      bus.subscribe(group, [d.type("Wanted")], r.handler);
      await bus.publish([event(d.type("Other"), "k", "skip"), event(d.type("Wanted"), "k", "take"), event(d.type("Other"), "k", "skip")]);
      await waitUntil(async () => (await k.committed(group, d.topic)) === 3, { timeoutMs: 10_000, what: "three commits" });
      expect(r.texts()).toEqual(["take"]);
    });

    test("deadLetter produces the event to <topic>.dlq with the error and group", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const bus = k.bus();
      const e = event(d.type("E"), "order-7", "undecodable");
      await deadLetterVia(bus, "payment")(e, new RangeError("bad payload"));
      const [dead] = await k.read(`${d.topic}.dlq`, 1);
      expect(dead!.key?.toString()).toBe("order-7");
      expect(dead!.value?.toString()).toBe("undecodable");
      expect(header(dead!, "ce_id")).toBe(e.id);
      expect(header(dead!, "dlq_error")).toBe("RangeError: bad payload");
      expect(header(dead!, "dlq_group")).toBe("payment");
    });

    test("two groups each get every event", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const bus = k.bus();
      const a = recorder();
      const b = recorder();
      bus.subscribe(groupName(), [d.type("E")], a.handler);
      bus.subscribe(groupName(), [d.type("E")], b.handler);
      await bus.publish([event(d.type("E"), "k1", "1"), event(d.type("E"), "k2", "2")]);
      await waitUntil(() => a.got.length === 2 && b.got.length === 2);
      expect(a.texts().sort()).toEqual(["1", "2"]);
      expect(b.texts().sort()).toEqual(["1", "2"]);
    });

    test("several subscribe calls of one group share a consumer; a later one with a new topic restarts it", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const [d1, d2, d3] = [kafka.domain(), kafka.domain(), kafka.domain()];
      const group = groupName();
      const bus = k.bus();
      const [r1, r2, r3] = [recorder(), recorder(), recorder()];
      bus.subscribe(group, [d1.type("E")], r1.handler);
      bus.subscribe(group, [d2.type("E")], r2.handler);
      expect(() => bus.subscribe(group, [d2.type("E")], r2.handler)).toThrow(/already has a handler/);
      await bus.publish([event(d1.type("E"), "k", "one"), event(d2.type("E"), "k", "two")]);
      await waitUntil(() => r1.got.length === 1 && r2.got.length === 1);

      bus.subscribe(group, [d3.type("E")], r3.handler);
      await bus.publish([event(d3.type("E"), "k", "three"), event(d1.type("E"), "k", "four")]);
      await waitUntil(() => r3.got.length === 1 && r1.got.length === 2, { timeoutMs: 15_000, what: "deliveries after the restart" });
      expect(r1.texts()).toEqual(["one", "four"]);
      expect(r2.texts()).toEqual(["two"]);
    });

    test("events published before the group first joined are delivered", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const publisher = k.bus();
      await publisher.publish([event(d.type("E"), "k", "early")]);
      const consumer = k.bus();
      const r = recorder();
      consumer.subscribe(groupName(), [d.type("E")], r.handler);
      await waitUntil(() => r.got.length === 1);
      expect(r.texts()).toEqual(["early"]);
    });

    test("close() lets the handler in progress finish and commit", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const group = groupName();
      const bus = k.bus();
      let finished = false;
      const r = recorder(async () => {
        await sleep(300);
        finished = true;
      });
      bus.subscribe(group, [d.type("E")], r.handler);
      await bus.publish([event(d.type("E"), "k", "slow")]);
      await waitUntil(() => r.got.length === 1);
      const t0 = Date.now();
      await bus.close();
      expect(finished).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(await k.committed(group, d.topic)).toBe(1);
      await expect(bus.publish([event(d.type("E"), "k", "late")])).rejects.toThrow(/closed/);
    });

    test("unsubscribe stops deliveries to the handler", async ({ onTestFinished }) => {
      const k = kafka.session(onTestFinished);
      const d = kafka.domain();
      const bus = k.bus();
      const r = recorder();
      const sub = bus.subscribe(groupName(), [d.type("E")], r.handler);
      await bus.publish([event(d.type("E"), "k", "1")]);
      await waitUntil(() => r.got.length === 1);
      await sub.unsubscribe();
      await bus.publish([event(d.type("E"), "k", "2")]);
      await sleep(500);
      expect(r.texts()).toEqual(["1"]);
    });
  });

  describeWithKafka(
    "with the broker away",
    () => {
      const broker = useKafkaBroker();
      const kafka = useKafka(broker, 3);

      test.sequential("publish rejects within the timeout while the broker is away, and works again once it is back", async ({
        onTestFinished,
      }) => {
        const k = kafka.session(onTestFinished);
        const d = kafka.domain();
        const bus = k.bus();
        await bus.publish([event(d.type("E"), "k", "before")]);
        await broker.down();
        try {
          const t0 = Date.now();
          await expect(bus.publish([event(d.type("E"), "k", "during")])).rejects.toThrow();
          expect(Date.now() - t0).toBeLessThan(PUBLISH_TIMEOUT_MS + 1_000);
        } finally {
          await broker.up();
        }
        await waitUntil(() => bus.publish([event(d.type("E"), "k", "after")]).then(succeeded, failed), {
          timeoutMs: 20_000,
          what: "a publish to succeed again",
        });
      });

      test.sequential("a consumer follows the broker away and back", async ({ onTestFinished }) => {
        const k = kafka.session(onTestFinished);
        const d = kafka.domain();
        const bus = k.bus();
        const r = recorder();
        bus.subscribe(groupName(), [d.type("E")], r.handler);
        await bus.publish([event(d.type("E"), "k", "before")]);
        await waitUntil(() => r.got.length === 1);
        await broker.down();
        await sleep(3_000);
        await broker.up();
        await waitUntil(() => bus.publish([event(d.type("E"), "k", "after")]).then(succeeded, failed), {
          timeoutMs: 20_000,
          what: "a publish to succeed again",
        });
        await waitUntil(() => r.texts().includes("after"), { timeoutMs: 30_000, what: "the consumer to get events again" });
        expect(r.texts()[0]).toBe("before");
      });

      test.sequential("close() does not hang while the broker is away", async ({ onTestFinished }) => {
        const k = kafka.session(onTestFinished);
        const d = kafka.domain();
        const bus = k.bus({ closeTimeoutMs: 3_000 });
        const r = recorder();
        bus.subscribe(groupName(), [d.type("E")], r.handler);
        await bus.publish([event(d.type("E"), "k", "x")]);
        await waitUntil(() => r.got.length === 1);
        await broker.down();
        try {
          const t0 = Date.now();
          await bus.close();
          expect(Date.now() - t0).toBeLessThan(8_000);
        } finally {
          await broker.up();
        }
      });
    },
    { ownBroker: true },
  );
});

const succeeded = () => true;
const failed = () => false;
