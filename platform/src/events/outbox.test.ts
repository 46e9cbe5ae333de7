import { create } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { migrateToLatest } from "../db/migrate.js";
import { createLogger } from "../logger.js";
import { forEachBackend, useTestDatabase } from "../testing/index.js";
import { createEnvelope, type Envelope } from "./envelope.js";
import type { EventBus } from "./event-bus.js";
import { createInProcessBus, type InProcessBus } from "./in-process-bus.js";
import { createOutboxRelay, type OutboxRelay, outboxMigrations, writeOutbox } from "./outbox.js";

const logger = createLogger({ level: "silent" });
const TYPE = StringValueSchema.typeName;
const event = (key: string, value: string) =>
  createEnvelope(StringValueSchema, create(StringValueSchema, { value }), { source: "order", key });

/** A bus that records what it is given and fails the first `failures` publishes. */
function recordingBus(failures = 0) {
  const published: Envelope[] = [];
  const bus: EventBus = {
    async publish(events) {
      if (failures > 0) {
        failures--;
        throw new Error("broker away");
      }
      published.push(...events);
    },
    subscribe: () => expect.fail("not used"),
    close: async () => {},
  };
  return { bus, published, failuresLeft: () => failures };
}

async function writeEvents(db: Kysely<any>, events: Envelope[]): Promise<void> {
  await db.transaction().execute((trx) => writeOutbox(trx, events));
}

forEachBackend((backend) => {
  const t = useTestDatabase(backend);
  let db: Kysely<any>;
  let relays: OutboxRelay[] = [];

  beforeEach(async () => {
    const schema = await t.createSchema();
    db = t.db.kysely(schema);
    await migrateToLatest(db, schema, outboxMigrations, logger);
  });
  afterEach(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    relays = [];
  });
  const startRelay = (bus: EventBus, opts: { batchSize?: number; pollMs?: number } = {}) => {
    const relay = createOutboxRelay({ db, bus, logger, pollMs: 5, retry: { initialMs: 5, maxMs: 20 }, ...opts });
    relays.push(relay);
    relay.start();
    return relay;
  };
  const pending = async () => (await db.selectFrom("outbox").select("seq").where("published_at", "is", null).execute()).length;

  test("writeOutbox refuses to run outside a transaction", async () => {
    await expect(writeOutbox(db as any, event("o-1", "x"))).rejects.toThrow(/inside the transaction/);
  });

  test("rows of a rolled-back transaction are never published", async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await writeOutbox(trx, event("o-1", "lost"));
        throw new Error("the use case failed");
      }),
    ).rejects.toThrow(/use case failed/);
    const committed = event("o-2", "kept");
    await writeEvents(db, [committed]);

    const { bus, published } = recordingBus();
    startRelay(bus).notify();
    await vi.waitFor(() => expect(published).toHaveLength(1));
    // Published under the relay's span, whose context it carries on.
    expect(published[0]).toEqual({ ...committed, traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/) });
  });

  test("publishes in seq order across batches, marks rows published, and picks up new rows on notify", async () => {
    const first = Array.from({ length: 25 }, (_, i) => event(`o-${i % 3}`, `v${i}`));
    await writeEvents(db, first);
    const { bus, published } = recordingBus();
    const relay = startRelay(bus, { batchSize: 10, pollMs: 60_000 });
    await vi.waitFor(() => expect(published).toHaveLength(25));
    expect(published.map((e) => e.id)).toEqual(first.map((e) => e.id));
    expect(await pending()).toBe(0);

    const second = event("o-9", "later");
    await writeEvents(db, [second]);
    relay.notify();
    await vi.waitFor(() => expect(published.at(-1)?.id).toBe(second.id));
    expect(published).toHaveLength(26);
  });

  test("while the bus fails it retries, and once it recovers publishes everything once, in order", async () => {
    const events = Array.from({ length: 12 }, (_, i) => event(`o-${i % 2}`, `v${i}`));
    await writeEvents(db, events);
    const failing = recordingBus(4);
    startRelay(failing.bus, { batchSize: 5 });
    await vi.waitFor(() => expect(failing.published).toHaveLength(12));
    expect(failing.failuresLeft()).toBe(0);
    expect(failing.published.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(await pending()).toBe(0);
  });

  test("stop finishes the batch in flight; the rest waits for the next start", async () => {
    await writeEvents(db, [event("o-1", "a"), event("o-1", "b"), event("o-1", "c")]);
    let release!: () => void;
    const published: Envelope[] = [];
    const slow: EventBus = {
      async publish(events) {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        published.push(...events);
      },
      subscribe: () => expect.fail("not used"),
      close: async () => {},
    };
    const relay = startRelay(slow, { batchSize: 2 });
    await vi.waitFor(() => expect(release).toBeDefined());
    const stopped = relay.stop();
    release();
    await stopped;
    expect(published).toHaveLength(2);
    expect(await pending()).toBe(1);
  });

  test("a relay dying after the broker acknowledged a batch, before its mark committed, leaves the rows to be published again", async () => {
    const events = Array.from({ length: 5 }, (_, i) => event(`o-${i % 2}`, `v${i}`));
    await writeEvents(db, events);
    // From the moment its publish is acknowledged, the first relay's process is gone: no
    // statement of its transaction (the mark among them) reaches the database any more.
    let dead = false;
    const deadAfterPublish = db.withPlugin({
      transformQuery: ({ node }) => {
        if (dead) throw new Error("connection lost");
        return node;
      },
      transformResult: async ({ result }) => result,
    });
    const acknowledged: Envelope[] = [];
    let stopped: Promise<void> | undefined;
    const dying: EventBus = {
      async publish(batch) {
        acknowledged.push(...batch);
        dead = true;
        stopped = first.stop();
      },
      subscribe: () => expect.fail("not used"),
      close: async () => {},
    };
    const first = createOutboxRelay({ db: deadAfterPublish, bus: dying, logger, pollMs: 5, retry: { initialMs: 5, maxMs: 20 } });
    first.start();
    await vi.waitFor(() => expect(stopped).toBeDefined());
    await stopped;
    expect(acknowledged.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(await pending()).toBe(events.length);

    const { bus, published } = recordingBus();
    startRelay(bus).notify();
    await vi.waitFor(() => expect(published).toHaveLength(events.length));
    expect(published.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(await pending()).toBe(0);
  });

  // A pass claims the next batch while one is being published; that claim must not skip a row of
  // an older transaction that became visible meanwhile, or a newer row of its key would overtake it.
  test("a row whose transaction commits while a pass is publishing still goes before newer rows of its key", async () => {
    let committing!: () => void;
    const lateCommit = new Promise<void>((resolve) => {
      committing = resolve;
    });
    const late = event("o-late", "older");
    const open = db.transaction().execute(async (trx) => {
      await writeOutbox(trx, late);
      await lateCommit;
    });
    await vi.waitFor(async () => expect(await pending()).toBe(0)); // the late row is not visible yet
    const early = Array.from({ length: 4 }, (_, i) => event(`o-${i}`, `v${i}`));
    await writeEvents(db, early);

    const published: Envelope[] = [];
    let gate: (() => void) | undefined;
    const gated: EventBus = {
      async publish(events) {
        if (published.length === 0) await new Promise<void>((resolve) => (gate = resolve));
        published.push(...events);
      },
      subscribe: () => expect.fail("not used"),
      close: async () => {},
    };
    startRelay(gated, { batchSize: 2 });
    await vi.waitFor(() => expect(gate).toBeDefined());
    committing();
    await open;
    const newer = event("o-late", "newer");
    await writeEvents(db, [newer]);
    gate?.();

    await vi.waitFor(() => expect(published).toHaveLength(6));
    const ids = published.map((e) => e.id);
    expect(ids.slice(0, 4)).toEqual(early.map((e) => e.id));
    expect(ids.indexOf(late.id)).toBeLessThan(ids.indexOf(newer.id));
    // Marked once the pass's transaction commits, after the last publish resolved.
    await vi.waitFor(async () => expect(await pending()).toBe(0));
  });

  describe("onto a bus whose publish resolves once the events are handled (in process)", () => {
    let bus: InProcessBus;
    afterEach(() => bus.close());

    test("marks a row only once its consumers handled it; rows a crash left unmarked go out again at the next start", async () => {
      bus = createInProcessBus({ logger });
      const events = [event("o-1", "placed"), event("o-2", "placed"), event("o-1", "paid")];
      await writeEvents(db, events);
      let release!: () => void;
      const holding = new Promise<void>((resolve) => {
        release = resolve;
      });
      const handled: string[] = [];
      bus.subscribe("consumer", [TYPE], async (e) => {
        await holding;
        handled.push(e.id);
      });
      const relay = startRelay(bus);
      await new Promise((resolve) => setTimeout(resolve, 30));
      // Handed over, not handled: nothing is marked, and a crash now would lose nothing.
      expect(await pending()).toBe(3);
      await relay.stop();
      expect(await pending()).toBe(3);

      // The next start publishes the same rows again; once handled they are marked.
      release();
      startRelay(bus);
      await vi.waitFor(async () => expect(await pending()).toBe(0));
      expect(new Set(handled)).toEqual(new Set(events.map((e) => e.id)));
    });

    test("rows handed over after their commit go out without a claim and are marked with the next one; others wait for a claim", async () => {
      bus = createInProcessBus({ logger });
      const handled: string[] = [];
      bus.subscribe("consumer", [TYPE], async (e) => void handled.push(e.id));
      const relay = startRelay(bus, { pollMs: 60_000 });
      // The first claim finds nothing: the relay is caught up.
      await new Promise((resolve) => setTimeout(resolve, 30));
      const unannounced = event("o-1", "written, not handed over");
      await writeEvents(db, [unannounced]);
      const announced = [event("o-2", "placed"), event("o-2", "paid")];
      const rows = await db.transaction().execute((trx) => writeOutbox(trx, announced));
      expect(rows.map((r) => r.id)).toEqual(announced.map((e) => e.id));
      relay.notify(rows);
      await vi.waitFor(() => expect(handled).toEqual(announced.map((e) => e.id)));
      // Handled, and marked only by the next claim's statement.
      expect(await pending()).toBe(3);
      // A claim marks them and finds the row nobody handed over; that one is marked at the stop.
      relay.notify();
      await vi.waitFor(() => expect(handled).toEqual([...announced.map((e) => e.id), unannounced.id]));
      await vi.waitFor(async () => expect(await pending()).toBe(1));
      await relay.stop();
      expect(await pending()).toBe(0);
    });

    test("a delivery still being handled does not hold back the other keys' events", async () => {
      bus = createInProcessBus({ logger });
      const stuck = event("o-stuck", "held");
      await writeEvents(db, [stuck]);
      let release!: () => void;
      const holding = new Promise<void>((resolve) => {
        release = resolve;
      });
      const handled: string[] = [];
      bus.subscribe("consumer", [TYPE], async (e) => {
        if (e.id === stuck.id) await holding;
        handled.push(e.id);
      });
      startRelay(bus, { batchSize: 2 });
      const others = Array.from({ length: 9 }, (_, i) => event(`o-${i}`, `v${i}`));
      await writeEvents(db, others);
      await vi.waitFor(() => expect(handled).toHaveLength(9));
      expect(await pending()).toBe(1);
      release();
      await vi.waitFor(async () => expect(await pending()).toBe(0));
    });

    test("after a consumer stopped mid-delivery, publishes again from the oldest unmarked row, each key in order", async () => {
      bus = createInProcessBus({ logger, retry: { initialMs: 2, maxMs: 5 } });
      const events = Array.from({ length: 12 }, (_, i) => event(`o-${i % 3}`, `v${i}`));
      await writeEvents(db, events);
      let failing = true;
      const first = bus.subscribe("consumer", [TYPE], async () => {
        if (failing) throw new Error("database away");
      });
      startRelay(bus, { batchSize: 4 });
      await new Promise((resolve) => setTimeout(resolve, 30));
      // The consumer stops with the deliveries unhandled: they are dropped, not lost.
      await first.unsubscribe();
      failing = false;
      const seen: string[] = [];
      bus.subscribe("consumer", [TYPE], async (e) => void seen.push(e.id));
      await vi.waitFor(async () => expect(await pending()).toBe(0), { timeout: 10_000 });
      for (const key of ["o-0", "o-1", "o-2"]) {
        const ofKey = events.filter((e) => e.key === key).map((e) => e.id);
        expect(seen.filter((id) => ofKey.includes(id))).toEqual(ofKey);
      }
    });
  });

  test("two relays on one table publish every row exactly once, in order", async () => {
    const events = Array.from({ length: 200 }, (_, i) => event(`o-${i % 7}`, `v${i}`));
    await writeEvents(db, events);
    const { bus, published } = recordingBus();
    startRelay(bus, { batchSize: 7, pollMs: 1 });
    startRelay(bus, { batchSize: 7, pollMs: 1 });
    await vi.waitFor(() => expect(published).toHaveLength(200), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(published.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(await pending()).toBe(0);
  });
});
