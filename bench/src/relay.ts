// The relay scenario: N OrderPlaced-like events written to an outbox table in a Postgres schema of
// the run's own, then published by the platform's outbox relay onto its Kafka bus, timed from
// the relay's start until every row is marked published. Next to it, in the same run and on the
// same broker, a bare kafkajs producer sends the same N messages (same keys, values, CloudEvents
// headers, acks and batch size) one batch after the other, as the relay does. The two alternate
// for a few rounds, each on a fresh outbox, and the round with the median ratio is reported: on a
// shared machine one pair can be off by a third.
import { randomBytes } from "node:crypto";
import {
  createKafkaBus,
  createOutboxRelay,
  type Envelope,
  type EventBus,
  type Logger,
  migrateToLatest,
  type OutboxTable,
  openDatabase,
  outboxMigrations,
  writeOutbox,
} from "@shopmesh/platform";
import type { Message } from "kafkajs";
import { within } from "./checkout.js";
import { bareProducer, type EventRate, rate } from "./kafka-bare.js";
import { kafkaMessage, orderPlaced } from "./sample-events.js";
import { HarnessError } from "./system.js";

export interface RelayOptions {
  readonly postgresUrl: string;
  readonly brokers: readonly string[];
  readonly events: number;
  /** Rows per relay pass, and messages per bare produce request. */
  readonly batchSize: number;
  /** Bare producer + relay pairs. */
  readonly rounds: number;
  readonly logger: Logger;
  readonly log: (msg: string) => void;
}

export interface RelayRate extends EventRate {
  /** Of `durationMs`, the time spent inside the bus's publish (Kafka); the rest is the part of the relay's transactions that no publish overlaps. */
  readonly publishMs: number;
  /** Batches published. */
  readonly passes: number;
}

export interface RelayRound {
  /** Bare kafkajs producer: `events` messages in sequential batches of `batchSize`, acks=all. */
  readonly bare: EventRate;
  /** Outbox relay + Kafka bus, from the relay's start to the last row marked published. */
  readonly relay: RelayRate;
  /** relay events/s over bare events/s. */
  readonly ratio: number;
  /** Writing the rows beforehand (not timed as part of the relay), milliseconds. */
  readonly writeMs: number;
}

/** The figures of the round with the median ratio, and every round. */
export interface RelayFigures extends RelayRound {
  readonly events: number;
  readonly batchSize: number;
  /** Protobuf value of each message, bytes. */
  readonly payloadBytes: { readonly min: number; readonly max: number; readonly mean: number };
  readonly rounds: readonly RelayRound[];
}

/** Rows per insert when filling the outbox. */
const WRITE_CHUNK = 1_000;
/** Longest the relay may take before the run gives up on it. */
const RELAY_TIMEOUT_MS = 180_000;

/** Counts what goes through `bus.publish` and the time spent in it; `done` resolves at `target` events. */
function countingBus(bus: EventBus, target: number) {
  let published = 0;
  let publishMs = 0;
  let passes = 0;
  let reached: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const counting: EventBus = {
    ...bus,
    async publish(events) {
      const started = performance.now();
      await bus.publish(events);
      publishMs += performance.now() - started;
      passes++;
      published += events.length;
      if (published >= target) reached();
    },
  };
  return { bus: counting, done, figures: () => ({ published, publishMs, passes }) };
}

export async function runRelay(opts: RelayOptions): Promise<RelayFigures> {
  const { events, batchSize, logger, log } = opts;
  const tag = randomBytes(4).toString("hex");
  const relayType = `bench.${tag}.relay.OrderPlaced`;
  const bareTopic = `bench.${tag}.bare`;
  const newEvents = (n: number) => Array.from({ length: n }, () => orderPlaced(relayType));

  const database = await openDatabase({ url: opts.postgresUrl }, logger);
  const producer = bareProducer(opts.brokers, "bench-bare-producer");
  const kafkaBus = createKafkaBus({ brokers: [...opts.brokers], clientId: "bench-relay", logger });

  /** Sends the messages in sequential batches of `batchSize`, acks=all. */
  const bareProduce = async (messages: readonly Message[]): Promise<EventRate> => {
    const started = performance.now();
    for (let i = 0; i < messages.length; i += batchSize) {
      await producer.sendBatch({ topicMessages: [{ topic: bareTopic, messages: messages.slice(i, i + batchSize) }], acks: -1 });
    }
    return rate(messages.length, performance.now() - started);
  };

  /**
   * Writes `rows` to a fresh outbox, runs `meanwhile` (the bare producer: the writes' aftermath in
   * Postgres is charged to neither), then relays them until all are marked published.
   */
  const relayRows = async <T>(round: number, rows: readonly Envelope[], meanwhile: () => Promise<T>) => {
    const schema = `bench_relay_${tag}_${round}`;
    const db = database.kysely<{ outbox: OutboxTable }>(schema);
    try {
      await migrateToLatest(db, schema, outboxMigrations, logger);
      const writeStart = performance.now();
      for (let i = 0; i < rows.length; i += WRITE_CHUNK) {
        const chunk = rows.slice(i, i + WRITE_CHUNK);
        await db.transaction().execute((trx) => writeOutbox(trx, chunk));
      }
      const writeMs = Math.round(performance.now() - writeStart);
      const before = await meanwhile();

      const counted = countingBus(kafkaBus, rows.length);
      const relay = createOutboxRelay({ db, bus: counted.bus, logger, batchSize });
      const started = performance.now();
      relay.start();
      const outcome = await within(counted.done, RELAY_TIMEOUT_MS, "relaying").catch(() => "timeout" as const);
      await relay.stop();
      const durationMs = performance.now() - started;
      const { count: left } = await db
        .selectFrom("outbox")
        .select((eb) => eb.fn.countAll<number | string>().as("count"))
        .where("published_at", "is", null)
        .executeTakeFirstOrThrow();
      const { published, publishMs, passes } = counted.figures();
      if (outcome === "timeout" || Number(left) > 0) {
        throw new HarnessError(
          `the relay left ${left} of ${rows.length} rows unpublished (${published} published in ${Math.round(durationMs)} ms)`,
        );
      }
      const relayRate: RelayRate = { ...rate(rows.length, durationMs), publishMs: Math.round(publishMs), passes };
      return { before, relay: relayRate, writeMs };
    } finally {
      await db.schema
        .dropSchema(schema)
        .ifExists()
        .cascade()
        .execute()
        .catch((err: unknown) => logger.warn({ err, schema }, "could not drop the relay schema"));
    }
  };

  try {
    // Connections, metadata, topic creation and a warm JIT before anything is timed.
    await producer.connect();
    await producer.sendBatch({ topicMessages: [{ topic: bareTopic, messages: newEvents(batchSize).map(kafkaMessage) }], acks: -1 });
    await kafkaBus.publish(newEvents(batchSize));

    let payloadBytes: RelayFigures["payloadBytes"] | undefined;
    const rounds: RelayRound[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      const rows = newEvents(events);
      const sizes = rows.map((e) => e.payload.byteLength);
      payloadBytes ??= {
        min: sizes.reduce((a, b) => Math.min(a, b)),
        max: sizes.reduce((a, b) => Math.max(a, b)),
        mean: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length),
      };
      const { before: bare, relay, writeMs } = await relayRows(round, rows, () => bareProduce(rows.map(kafkaMessage)));
      const ratio = Math.round((relay.eventsPerSecond / bare.eventsPerSecond) * 1000) / 1000;
      log(
        `relay round ${round}/${opts.rounds}: bare kafkajs producer ${bare.eventsPerSecond} events/s, ` +
          `outbox relay ${relay.eventsPerSecond} events/s (${relay.publishMs} of ${relay.durationMs} ms in publish): ${(ratio * 100).toFixed(1)} %`,
      );
      rounds.push({ bare, relay, ratio, writeMs });
    }
    const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor((rounds.length - 1) / 2)] as RelayRound;
    return { events, batchSize, payloadBytes: payloadBytes!, ...median, rounds };
  } finally {
    await kafkaBus.close();
    await producer.disconnect().catch(() => undefined);
    await database.close();
  }
}
