import {
  type Consumer,
  type EachMessagePayload,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  type KafkaMessage,
  type LogEntry,
  logLevel,
  type Message,
  type PartitionAssigner,
  PartitionAssigners,
  Partitioners,
  type TopicMessages,
} from "kafkajs";
import { isTransientError } from "../db/errors.js";
import type { Logger } from "../logger.js";
import { type Backoff, backoffDelay, interruptibleSleep } from "./backoff.js";
import { DEAD_LETTER_SUFFIX, type Envelope, eventTopic } from "./envelope.js";
import type { EventBus, EventHandler, Subscription } from "./event-bus.js";

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** The Kafka client id (the service name). */
  clientId: string;
  logger: Logger;
  /**
   * How long a publish (or a dead-letter produce) may take, connecting included, before it
   * rejects; default 5 s. A publish that timed out may still land later: a duplicate, which
   * consumers dedupe.
   */
  publishTimeoutMs?: number;
  /**
   * Lets the broker create a topic on first use; default true (a dev convenience, and what the
   * librdkafka mock needs). Deployments create the topics and turn auto-creation off.
   */
  allowAutoTopicCreation?: boolean;
  /** Deliveries of an event whose handler keeps failing before it goes to `<topic>.dlq`; default 5. */
  maxAttempts?: number;
  /**
   * Delay between deliveries of a failing event (and between attempts to start a consumer or to
   * produce to a dead-letter topic); default 100 ms doubling to 5 s.
   */
  retry?: Backoff;
  /**
   * Failures that say "not now" (a database down): redelivered without limit, the partition
   * waiting, instead of being dead-lettered. Default {@link isTransientError}, as `consumeOnce`
   * rethrows only those.
   */
  isTransient?: (err: unknown) => boolean;
  /** Partitions a group handles at the same time, each in order; default 4. */
  partitionsConsumedConcurrently?: number;
  /**
   * Where a group without committed offsets starts: at the oldest event (default true, so
   * events published before a consumer first joined are not lost) or at the next one.
   */
  fromBeginning?: boolean;
  /** How long the broker holds a fetch that finds nothing; default 50 ms (latency per hop). */
  maxWaitTimeInMs?: number;
  /** Consumer session timeout; default 10 s. */
  sessionTimeoutMs?: number;
  /** Consumer heartbeat interval, also kept up while a handler runs; default 1 s. */
  heartbeatIntervalMs?: number;
  /**
   * How long a group's leader waits before handing out partitions when the group has more than
   * one member (replicas); default 250 ms. See {@link patientRoundRobin}.
   */
  assignmentDelayMs?: number;
  /** How long `close()` waits for handlers in progress and for disconnecting; default 10 s. */
  closeTimeoutMs?: number;
  /** More kafkajs client settings (ssl, sasl, timeouts); brokers, client id and logging are set here. */
  client?: Omit<KafkaConfig, "brokers" | "clientId" | "logLevel" | "logCreator">;
}

/** The Kafka event bus; {@link EventBus.deadLetter} produces to the dead-letter topic. */
export interface KafkaBus extends EventBus {
  deadLetter(event: Envelope, error: unknown, group?: string): Promise<void>;
}

/** CloudEvents binary-mode headers (the Kafka protocol binding), plus W3C `traceparent`. */
const CE = {
  specversion: "ce_specversion",
  id: "ce_id",
  source: "ce_source",
  type: "ce_type",
  time: "ce_time",
  contentType: "content-type",
  traceparent: "traceparent",
} as const;
const CONTENT_TYPE = "application/protobuf";

/**
 * kafkajs' round-robin assignment, handed out `delayMs` late when the group has several
 * members, so that the followers' SyncGroup requests reach the coordinator before the leader's.
 * A real broker answers a follower whatever the order; librdkafka's mock cluster (the test
 * broker) closes the round as soon as the leader's assignment covers every member and rejects a
 * follower's SyncGroup that comes later, which makes replicas rejoin forever. On real Kafka the
 * wait only lengthens a rebalance by `delayMs`. Same protocol name as kafkajs' own, so members
 * of other versions can share the group.
 */
function patientRoundRobin(delayMs: number): PartitionAssigner {
  return (config) => {
    const roundRobin = PartitionAssigners.roundRobin(config);
    return {
      name: roundRobin.name,
      version: roundRobin.version,
      protocol: (subscription) => roundRobin.protocol(subscription),
      async assign(group) {
        if (group.members.length > 1 && delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        return roundRobin.assign(group);
      },
    };
  };
}

/** The Kafka message of an event: key, protobuf value, CloudEvents headers. */
function toKafkaMessage(event: Envelope): Message & { headers: IHeaders } {
  const headers: IHeaders = {
    [CE.specversion]: "1.0",
    [CE.id]: event.id,
    [CE.source]: event.source,
    [CE.type]: event.type,
    [CE.time]: event.time.toISOString(),
    [CE.contentType]: CONTENT_TYPE,
  };
  if (event.traceparent) headers[CE.traceparent] = event.traceparent;
  const { buffer, byteOffset, byteLength } = event.payload;
  return { key: event.key, value: Buffer.from(buffer, byteOffset, byteLength), headers };
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** The event a Kafka message carries, or why it carries none. */
function fromKafkaMessage(message: KafkaMessage): Envelope | { invalid: string } {
  const h = message.headers;
  const specversion = header(h, CE.specversion);
  if (specversion !== "1.0") return { invalid: `${CE.specversion} is ${JSON.stringify(specversion)}, not "1.0"` };
  const contentType = header(h, CE.contentType);
  if (contentType !== undefined && contentType.split(";")[0]!.trim() !== CONTENT_TYPE) {
    return { invalid: `content-type ${JSON.stringify(contentType)} is not ${CONTENT_TYPE}` };
  }
  const id = header(h, CE.id);
  const type = header(h, CE.type);
  const source = header(h, CE.source);
  const rawTime = header(h, CE.time);
  for (const [name, value] of [
    [CE.id, id],
    [CE.type, type],
    [CE.source, source],
    [CE.time, rawTime],
  ] as const) {
    if (!value) return { invalid: `header ${name} missing` };
  }
  if (!/^[^.]+(\.[^.]+)+$/.test(type!)) return { invalid: `${CE.type} ${JSON.stringify(type)} is not a full message name` };
  const time = new Date(rawTime!);
  if (Number.isNaN(time.getTime())) return { invalid: `${CE.time} ${JSON.stringify(rawTime)} is not an RFC 3339 time` };
  const key = message.key?.toString();
  if (!key) return { invalid: "message key (the aggregate id) missing" };
  const value = message.value ?? Buffer.alloc(0);
  return {
    id: id!,
    type: type!,
    source: source!,
    time,
    key,
    payload: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    traceparent: header(h, CE.traceparent) || undefined,
  };
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/** `work`, or a rejection after `ms`; `work` goes on in the background (its failure then ignored). */
async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  const timer = interruptibleSleep(ms);
  try {
    return await Promise.race([
      work,
      timer.done.then(() => {
        throw new TimeoutError(message);
      }),
    ]);
  } finally {
    timer.wake();
    work.catch(() => undefined);
  }
}

/**
 * kafkajs logs into pino under `component: "kafkajs"`: errors and warnings as such, info at
 * debug and debug at trace. A line repeating itself (a broker away, a consumer restarting)
 * is written once per 10 s, with how many were left out.
 */
function kafkaLogCreator(logger: Logger): () => (entry: LogEntry) => void {
  const kafkaLogger = logger.child({ component: "kafkajs" });
  const lastSeen = new Map<string, { at: number; suppressed: number }>();
  const QUIET_MS = 10_000;
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      const fingerprint = `${level}|${namespace}|${message.replace(/\d+/g, "#")}`;
      const now = Date.now();
      const seen = lastSeen.get(fingerprint);
      if (seen && now - seen.at < QUIET_MS) {
        seen.suppressed++;
        return;
      }
      lastSeen.set(fingerprint, { at: now, suppressed: 0 });
      if (lastSeen.size > 500) lastSeen.clear();
      const fields = { namespace, ...extra, ...(seen?.suppressed ? { repeated: seen.suppressed } : {}) };
      if (level === logLevel.ERROR) kafkaLogger.error(fields, message);
      else if (level === logLevel.WARN) kafkaLogger.warn(fields, message);
      else if (level === logLevel.INFO) kafkaLogger.debug(fields, message);
      else kafkaLogger.trace(fields, message);
    };
}

function kafkaLogLevel(logger: Logger): logLevel {
  if (logger.isLevelEnabled("trace")) return logLevel.DEBUG;
  if (logger.isLevelEnabled("debug")) return logLevel.INFO;
  return logLevel.WARN;
}

interface Group {
  readonly name: string;
  readonly handlers: Map<string, EventHandler>;
  /** The running kafkajs consumer, if any, and the topics it subscribed to. */
  consumer: Consumer | undefined;
  topics: ReadonlySet<string>;
  /** Start/stop steps, one after the other. */
  lifecycle: Promise<void>;
  reconcileScheduled: boolean;
  /** Deliveries in progress (for a clean stop). */
  readonly inFlight: Set<Promise<void>>;
  /** Set while the consumer is being stopped: deliveries still coming are left uncommitted. */
  stopping: boolean;
  /** The consumer crashed; logged once it joins the group again. */
  crashed: boolean;
}

/** Leave the message uncommitted: the consumer is going away, it is delivered again later. */
const ABANDON = Symbol("abandon");

/**
 * The distributed-mode bus, on Kafka through kafkajs.
 *
 * Publishing: one topic per protobuf package (`shop.order.v1`), the envelope key as message key
 * (one partition per aggregate, so its events stay in order), the protobuf payload as value and
 * CloudEvents binary-mode headers (`ce_id`, `ce_type`, …, `traceparent`). A publish is one
 * `sendBatch` with acks from all in-sync replicas; it rejects after `publishTimeoutMs` when the
 * brokers are away, so the outbox relay retries. No idempotent or transactional producer and no
 * admin calls (the librdkafka mock test broker has neither; topics come from deployment or
 * auto-creation).
 *
 * Consuming: one kafkajs consumer per group (group id = the group name), subscribed to the
 * topics of every type the group's subscriptions name; several `subscribe` calls of one group
 * made in the same tick share one start, a later call with a new topic restarts the consumer.
 * Messages of types no handler takes are skipped. A partition is handled one message at a time;
 * an offset is committed only after the handler resolved. A failing handler is retried with
 * backoff, transient failures without limit, others `maxAttempts` times, after which the
 * message goes to `<topic>.dlq` with `dlq_error`, `dlq_group`, `dlq_attempts` and its origin
 * in headers, and is committed. A message that is no event (headers missing or malformed) goes
 * there at once. The consumer follows a broker that goes away and comes back (kafkajs restarts
 * it after a crash, and this bus does when kafkajs gives up).
 */
export function createKafkaBus(opts: KafkaBusOptions): KafkaBus {
  const {
    logger,
    publishTimeoutMs = 5_000,
    allowAutoTopicCreation = true,
    maxAttempts = 5,
    retry = { initialMs: 100, maxMs: 5_000 },
    isTransient = isTransientError,
    partitionsConsumedConcurrently = 4,
    fromBeginning = true,
    maxWaitTimeInMs = 50,
    sessionTimeoutMs = 10_000,
    heartbeatIntervalMs = 1_000,
    assignmentDelayMs = 250,
    closeTimeoutMs = 10_000,
  } = opts;
  if (opts.brokers.length === 0) throw new Error("createKafkaBus: no brokers");

  const kafka = new Kafka({
    connectionTimeout: 1_000,
    requestTimeout: 10_000,
    // Short and bounded: the outbox relay and this bus retry on their own, with backoff.
    retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 },
    ...opts.client,
    brokers: [...opts.brokers],
    clientId: opts.clientId,
    logLevel: kafkaLogLevel(logger),
    logCreator: kafkaLogCreator(logger),
  });
  const producer = kafka.producer({
    allowAutoTopicCreation,
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: false,
  });
  let producerConnection: Promise<void> | undefined;
  producer.on(producer.events.DISCONNECT, () => {
    producerConnection = undefined;
  });

  const groups = new Map<string, Group>();
  const sleeps = new Set<() => void>();
  let closed = false;
  let closing: Promise<void> | undefined;

  function connectProducer(): Promise<void> {
    producerConnection ??= producer.connect().catch((err: unknown) => {
      producerConnection = undefined;
      throw err;
    });
    return producerConnection;
  }

  async function produce(topicMessages: TopicMessages[], what: string): Promise<void> {
    const sent = (async () => {
      await connectProducer();
      await producer.sendBatch({ topicMessages, acks: -1, timeout: publishTimeoutMs });
    })();
    await withTimeout(sent, publishTimeoutMs, `${what}: not acknowledged by Kafka within ${publishTimeoutMs} ms`);
  }

  /** Sleeps `ms`, cut short by `close()`. */
  async function pause(ms: number): Promise<void> {
    const sleep = interruptibleSleep(ms);
    sleeps.add(sleep.wake);
    try {
      await sleep.done;
    } finally {
      sleeps.delete(sleep.wake);
    }
  }

  // --- consuming -------------------------------------------------------------------------

  function wantedTopics(group: Group): Set<string> {
    return new Set([...group.handlers.keys()].map(eventTopic));
  }

  function enqueue(group: Group, step: () => Promise<void>): Promise<void> {
    group.lifecycle = group.lifecycle.then(step).catch((err: unknown) => {
      logger.error({ err, group: group.name }, "Kafka consumer lifecycle step failed");
    });
    return group.lifecycle;
  }

  /** Brings the group's consumer in line with its subscriptions, once the current tick's subscribe calls are in. */
  function scheduleReconcile(group: Group): void {
    if (group.reconcileScheduled) return;
    group.reconcileScheduled = true;
    setImmediate(() => {
      void enqueue(group, async () => {
        group.reconcileScheduled = false;
        if (closed) return;
        const wanted = wantedTopics(group);
        if (wanted.size === 0) {
          await stopConsumer(group);
          return;
        }
        if (group.consumer && [...wanted].every((t) => group.topics.has(t))) return;
        await stopConsumer(group);
        await startConsumer(group);
      });
    });
  }

  async function stopConsumer(group: Group): Promise<void> {
    const consumer = group.consumer;
    if (!consumer) return;
    group.stopping = true;
    try {
      try {
        consumer.pause([...group.topics].map((topic) => ({ topic })));
      } catch {
        // not running (yet or any more): nothing is fetched
      }
      await Promise.allSettled([...group.inFlight]);
      await consumer
        .disconnect()
        .catch((err: unknown) => logger.warn({ err, group: group.name }, "Kafka consumer did not disconnect cleanly"));
    } finally {
      if (group.consumer === consumer) group.consumer = undefined;
      group.stopping = false;
    }
  }

  async function startConsumer(group: Group): Promise<void> {
    for (let attempt = 1; !closed; attempt++) {
      const topics = wantedTopics(group);
      if (topics.size === 0) return;
      const consumer = kafka.consumer({
        groupId: group.name,
        allowAutoTopicCreation,
        maxWaitTimeInMs,
        sessionTimeout: sessionTimeoutMs,
        rebalanceTimeout: 30_000,
        heartbeatInterval: heartbeatIntervalMs,
        partitionAssigners: [patientRoundRobin(assignmentDelayMs)],
        retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5, restartOnFailure: async () => true },
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (group.consumer !== consumer) return;
        group.crashed = true;
        if (payload.restart || closed) return;
        logger.warn({ err: payload.error, group: group.name }, "Kafka consumer stopped after an error; starting it again");
        void enqueue(group, async () => {
          if (group.consumer !== consumer || closed) return;
          await stopConsumer(group);
          await pause(Math.round(backoffDelay(1, retry)));
          await startConsumer(group);
        });
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const fields = { group: group.name, memberId: payload.memberId, assignment: payload.memberAssignment };
        if (group.crashed) logger.info(fields, "Kafka consumer joined its group again");
        else logger.debug(fields, "Kafka consumer joined its group");
        group.crashed = false;
      });
      group.consumer = consumer;
      group.topics = topics;
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [...topics], fromBeginning });
        await consumer.run({
          autoCommit: false,
          partitionsConsumedConcurrently,
          eachMessage: (payload) => deliver(group, consumer, payload),
        });
        if (attempt > 1) logger.info({ group: group.name, attempt }, "Kafka consumer started");
        return;
      } catch (err) {
        if (group.consumer === consumer) group.consumer = undefined;
        await consumer.disconnect().catch(() => undefined);
        const delayMs = Math.round(backoffDelay(attempt, retry));
        logger.warn(
          { err, group: group.name, topics: [...topics], attempt, delay_ms: delayMs },
          "Kafka consumer failed to start; retrying",
        );
        await pause(delayMs);
      }
    }
  }

  function deliver(group: Group, consumer: Consumer, payload: EachMessagePayload): Promise<void> {
    if (closed || group.stopping || group.consumer !== consumer) return Promise.resolve();
    const delivery = deliverNow(group, consumer, payload);
    group.inFlight.add(delivery);
    const forget = () => group.inFlight.delete(delivery);
    delivery.then(forget, forget);
    return delivery;
  }

  async function deliverNow(group: Group, consumer: Consumer, { topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    const origin = { group: group.name, topic, partition, offset: message.offset };
    const keepAlive = keepHeartbeating(heartbeat, () => closed || group.stopping);
    try {
      const event = fromKafkaMessage(message);
      if ("invalid" in event) {
        logger.error({ ...origin, reason: event.invalid }, "Kafka message is no event; dead-lettering it");
        if ((await deadLetterMessage(group, topic, partition, message, event.invalid, 0, keepAlive)) === ABANDON) return;
      } else {
        const handler = group.handlers.get(event.type);
        if (handler) {
          const outcome = await handle(group, event, handler, origin, keepAlive);
          if (outcome === ABANDON) return;
          if (outcome !== undefined) {
            logger.error(
              { ...origin, err: outcome.error, eventId: event.id, type: event.type, key: event.key, attempts: outcome.attempts },
              "event handler kept failing; dead-lettering the event",
            );
            const sent = await deadLetterMessage(group, topic, partition, message, describe(outcome.error), outcome.attempts, keepAlive);
            if (sent === ABANDON) return;
          }
        }
      }
      try {
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      } catch (err) {
        // Handled already: a redelivery after the next rebalance is a duplicate the inbox drops.
        logger.warn({ ...origin, err }, "Kafka offset commit failed");
      }
    } finally {
      keepAlive.stop();
    }
  }

  /** Runs the handler until it succeeds; the last error once it gave up; ABANDON when stopping. */
  async function handle(
    group: Group,
    event: Envelope,
    handler: EventHandler,
    origin: object,
    keepAlive: HeartbeatKeeper,
  ): Promise<{ error: unknown; attempts: number } | undefined | typeof ABANDON> {
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(event);
        return undefined;
      } catch (err) {
        const transient = isTransient(err);
        if (!transient && attempt >= maxAttempts) return { error: err, attempts: attempt };
        if (closed || group.stopping) return ABANDON;
        const delayMs = Math.round(backoffDelay(attempt, retry));
        logger.warn(
          { ...origin, err, eventId: event.id, type: event.type, attempt, transient, delayMs },
          "event handler failed; redelivering",
        );
        await keepAlive.wait(delayMs);
        if (closed || group.stopping) return ABANDON;
      }
    }
  }

  /** Produces the message to `<topic>.dlq`, retrying until it is taken; ABANDON when stopping. */
  async function deadLetterMessage(
    group: Group,
    topic: string,
    partition: number,
    message: KafkaMessage,
    error: string,
    attempts: number,
    keepAlive: HeartbeatKeeper,
  ): Promise<"sent" | typeof ABANDON> {
    const headers: IHeaders = {
      ...message.headers,
      dlq_error: error,
      dlq_group: group.name,
      dlq_attempts: String(attempts),
      dlq_topic: topic,
      dlq_partition: String(partition),
      dlq_offset: message.offset,
    };
    const dlq = { topic: topic + DEAD_LETTER_SUFFIX, messages: [{ key: message.key, value: message.value, headers }] };
    for (let attempt = 1; ; attempt++) {
      try {
        await produce([dlq], `dead-lettering to ${dlq.topic}`);
        return "sent";
      } catch (err) {
        if (closed || group.stopping) return ABANDON;
        const delayMs = Math.round(backoffDelay(attempt, retry));
        logger.warn({ err, group: group.name, topic: dlq.topic, attempt, delay_ms: delayMs }, "dead-letter produce failed; retrying");
        await keepAlive.wait(delayMs);
        if (closed || group.stopping) return ABANDON;
      }
    }
  }

  interface HeartbeatKeeper {
    /** Waits `ms` (cut short when the consumer stops), heartbeating; rethrows a heartbeat failure (a rebalance) so kafkajs rejoins and redelivers. */
    wait(ms: number): Promise<void>;
    stop(): void;
  }

  /**
   * Keeps the group session alive while a handler runs longer than the heartbeat interval.
   * A failed heartbeat during a handler call is left to kafkajs's own after it; during a
   * backoff wait it ends the delivery uncommitted (thrown to kafkajs), so a rebalance is not
   * held up by a message that keeps failing.
   */
  function keepHeartbeating(heartbeat: () => Promise<void>, cancelled: () => boolean): HeartbeatKeeper {
    let failure: unknown;
    const timer = setInterval(() => {
      heartbeat().catch((err: unknown) => {
        failure = err;
      });
    }, heartbeatIntervalMs);
    timer.unref();
    return {
      async wait(ms) {
        const until = Date.now() + ms;
        for (let left = ms; left > 0 && !cancelled(); left = until - Date.now()) {
          if (failure !== undefined) {
            const err = failure;
            failure = undefined;
            throw err;
          }
          await pause(Math.min(left, heartbeatIntervalMs));
        }
      },
      stop() {
        clearInterval(timer);
      },
    };
  }

  // --- the bus ---------------------------------------------------------------------------

  return {
    async publish(events) {
      if (closed) throw new Error("the event bus is closed");
      if (events.length === 0) return;
      const byTopic = new Map<string, Message[]>();
      for (const event of events) {
        const topic = eventTopic(event.type);
        let messages = byTopic.get(topic);
        if (!messages) {
          messages = [];
          byTopic.set(topic, messages);
        }
        messages.push(toKafkaMessage(event));
      }
      await produce(
        [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        `publishing ${events.length} event(s)`,
      );
    },

    subscribe(name, types, handler): Subscription {
      if (closed) throw new Error("the event bus is closed");
      const topics = types.map(eventTopic);
      let group = groups.get(name);
      if (!group) {
        group = {
          name,
          handlers: new Map(),
          consumer: undefined,
          topics: new Set(),
          lifecycle: Promise.resolve(),
          reconcileScheduled: false,
          inFlight: new Set(),
          stopping: false,
          crashed: false,
        };
        groups.set(name, group);
      }
      for (const type of types) {
        if (group.handlers.has(type)) throw new Error(`group ${name} already has a handler for ${type}`);
      }
      for (const type of types) group.handlers.set(type, handler);
      const g = group;
      if (!g.consumer || topics.some((t) => !g.topics.has(t))) scheduleReconcile(g);
      return {
        async unsubscribe() {
          for (const type of types) if (g.handlers.get(type) === handler) g.handlers.delete(type);
          if (g.handlers.size === 0) scheduleReconcile(g);
        },
      };
    },

    async deadLetter(event, error, group) {
      if (closed) throw new Error("the event bus is closed");
      const message = toKafkaMessage(event);
      message.headers.dlq_error = describe(error);
      if (group) message.headers.dlq_group = group;
      await produce([{ topic: eventTopic(event.type) + DEAD_LETTER_SUFFIX, messages: [message] }], `dead-lettering event ${event.id}`);
    },

    close() {
      closing ??= (async () => {
        closed = true;
        for (const wake of sleeps) wake();
        const stopped = Promise.allSettled([...groups.values()].map((group) => enqueue(group, () => stopConsumer(group))));
        try {
          await withTimeout(stopped, closeTimeoutMs, `Kafka consumers did not stop within ${closeTimeoutMs} ms`);
        } catch (err) {
          logger.error({ err }, "closing the Kafka bus: consumers left running");
        }
        try {
          await withTimeout(producer.disconnect(), closeTimeoutMs, `Kafka producer did not disconnect within ${closeTimeoutMs} ms`);
        } catch (err) {
          logger.error({ err }, "closing the Kafka bus: producer left connected");
        }
      })();
      return closing;
    },
  };
}
