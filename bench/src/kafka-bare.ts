// Bare kafkajs, the baselines of the Kafka scenarios: what the broker and the client cost with
// nothing of the platform around them.
import { randomBytes } from "node:crypto";
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import { type Percentiles, percentiles, within } from "./checkout.js";
import { kafkaMessage, orderPlaced } from "./sample-events.js";
import { sleep } from "./http-util.js";
import { HarnessError } from "./system.js";

export interface EventRate {
  readonly events: number;
  readonly durationMs: number;
  readonly eventsPerSecond: number;
}

export function rate(events: number, durationMs: number): EventRate {
  return { events, durationMs: Math.round(durationMs), eventsPerSecond: Math.round(events / (durationMs / 1000)) };
}

function bareKafka(brokers: readonly string[], clientId: string): Kafka {
  return new Kafka({ brokers: [...brokers], clientId, connectionTimeout: 2_000, logLevel: logLevel.NOTHING });
}

/** A producer with the Kafka bus's producer settings (default partitioner, not idempotent, topics auto-created). */
export function bareProducer(brokers: readonly string[], clientId: string): Producer {
  return bareKafka(brokers, clientId).producer({
    allowAutoTopicCreation: true,
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: false,
  });
}

/** Why `brokers` cannot be used, or undefined when a client connects and sees the cluster. */
export async function probeBroker(brokers: readonly string[]): Promise<string | undefined> {
  const admin = new Kafka({
    brokers: [...brokers],
    clientId: "bench-probe",
    connectionTimeout: 2_000,
    retry: { retries: 1 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return undefined;
  } catch (err) {
    return `Kafka broker ${brokers.join(",")} not reachable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface RoundTripFigures {
  readonly messages: number;
  /** The consumer's fetch wait (the Kafka bus's default, so both wait alike for an empty fetch). */
  readonly consumerMaxWaitMs: number;
  /** Send (acks=all) → the consumer's eachMessage for it, each sent at a random moment of the consumer's fetch wait. */
  readonly roundTripMs: Percentiles;
  /** The send alone, until acknowledged. */
  readonly sendMs: Percentiles;
}

const ROUND_TRIP_TIMEOUT_MS = 10_000;
/** The Kafka bus's default fetch wait (KafkaBusOptions.maxWaitTimeInMs). */
export const BUS_MAX_WAIT_MS = 50;

/**
 * `count` round trips, one at a time: a producer sends one OrderPlaced-sized message (acks=all)
 * and a consumer in a consumer group of its own, on a topic of its own, receives it. Each is sent
 * after a random pause of one to two fetch waits, so that it lands at a random moment of the
 * consumer's waiting fetch, as an event of the saga does: librdkafka's mock broker answers a
 * waiting fetch only when its wait is over, not when data arrives (a real broker answers at
 * once), so a message waits up to one fetch wait (U(0, 50 ms)) for the consumer to see it.
 * Sent back to back instead, each would meet a fetch just issued or one about to time out: ~1 or
 * ~50 ms, depending on which of the send and the consumer's next fetch reaches the broker first.
 */
export async function measureRoundTrips(brokers: readonly string[], count: number): Promise<RoundTripFigures> {
  const tag = randomBytes(4).toString("hex");
  const topic = `bench.${tag}.round-trip`;
  const kafka = bareKafka(brokers, "bench-round-trip");
  const producer = bareProducer(brokers, "bench-round-trip-producer");
  const consumer = kafka.consumer({ groupId: `bench-${tag}-round-trip`, maxWaitTimeInMs: BUS_MAX_WAIT_MS });
  const waiting = new Map<string, () => void>();
  const send = async () => {
    const message = kafkaMessage(orderPlaced());
    const key = String(message.key);
    const received = new Promise<void>((resolve) => waiting.set(key, resolve));
    const started = performance.now();
    await producer.send({ topic, messages: [message], acks: -1 });
    const sent = performance.now();
    return { sendMs: sent - started, received: received.then(() => performance.now() - started), key };
  };
  try {
    await producer.connect();
    // The topic exists before the consumer subscribes to it.
    await producer.send({ topic, messages: [kafkaMessage(orderPlaced())], acks: -1 });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const key = message.key?.toString() ?? "";
        waiting.get(key)?.();
        waiting.delete(key);
      },
    });
    await within(joined, ROUND_TRIP_TIMEOUT_MS, "joining the round-trip consumer group");
    // Until the consumer has its offsets, a message may go unseen: warm up until one arrives.
    const warmUntil = performance.now() + ROUND_TRIP_TIMEOUT_MS;
    for (let seen = false; !seen; ) {
      if (performance.now() > warmUntil) throw new HarnessError(`no round trip on ${topic} within ${ROUND_TRIP_TIMEOUT_MS} ms`);
      const { received, key } = await send();
      seen = await within(received, 500, "warm-up").then(
        () => true,
        () => false,
      );
      waiting.delete(key);
    }
    const roundTrips: number[] = [];
    const sends: number[] = [];
    for (let i = 0; i < count; i++) {
      await sleep(BUS_MAX_WAIT_MS * (1 + Math.random()));
      const { sendMs, received } = await send();
      sends.push(sendMs);
      roundTrips.push(await within(received, ROUND_TRIP_TIMEOUT_MS, `round trip ${i + 1} on ${topic}`));
    }
    return {
      messages: count,
      consumerMaxWaitMs: BUS_MAX_WAIT_MS,
      roundTripMs: percentiles(roundTrips) as Percentiles,
      sendMs: percentiles(sends) as Percentiles,
    };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
}
