import { create, fromBinary } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { type Kysely, sql } from "kysely";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { migrateToLatest } from "../db/migrate.js";
import { Code, ConnectError } from "../errors.js";
import { createLogger } from "../logger.js";
import { forEachBackend, useTestDatabase } from "../testing/index.js";
import { createEnvelope, type Envelope } from "./envelope.js";
import { createInProcessBus } from "./in-process-bus.js";
import { type Consumed, consumeClaimed, consumeOnce, inboxMigrations, withInboxClaim } from "./inbox.js";
import { createOutboxRelay, outboxMigrations, writeOutbox } from "./outbox.js";

const logger = createLogger({ level: "silent" });
const fast = { logger, retry: { initialMs: 1, maxMs: 5 } };
const event = (key: string, value: string) =>
  createEnvelope(StringValueSchema, create(StringValueSchema, { value }), { source: "order", key });
const textOf = (e: Envelope) => fromBinary(StringValueSchema, e.payload).value;
const resultOf = async (consuming: Promise<Consumed<unknown>>) => (await consuming).result;

forEachBackend((backend) => {
  const t = useTestDatabase(backend);
  let db: Kysely<any>;
  let stop: (() => Promise<void>) | undefined;
  afterEach(() => stop?.());

  beforeEach(async () => {
    const schema = await t.createSchema();
    db = t.db.kysely(schema);
    await migrateToLatest(db, schema, { ...outboxMigrations, ...inboxMigrations }, logger);
    await sql`create table effects (value text not null)`.execute(db);
  });
  const effects = async () => (await db.selectFrom("effects").select("value").orderBy("value").execute()).map((r) => r.value);
  const apply = (e: Envelope) => async (trx: Kysely<any>) => {
    await trx
      .insertInto("effects")
      .values({ value: textOf(e) })
      .execute();
  };

  test("the same event delivered twice has one effect", async () => {
    const e = event("o-1", "charged");
    expect(await resultOf(consumeOnce(db, e, apply(e), fast))).toBe("handled");
    expect(await resultOf(consumeOnce(db, e, apply(e), fast))).toBe("duplicate");
    expect(await effects()).toEqual(["charged"]);
    expect(await db.selectFrom("inbox").select(["event_id", "type"]).execute()).toEqual([{ event_id: e.id, type: e.type }]);
  });

  /** Claims `e` and inserts its effect in one statement; whether it was new. */
  const applyClaimed = (e: Envelope) => async (conn: Kysely<any>) => {
    const rows = await withInboxClaim(conn, e)
      .insertInto("effects")
      .expression((eb) => eb.selectFrom("inbox_claim").select(eb.val(textOf(e)).as("value")))
      .returning("value")
      .execute();
    return rows.length > 0;
  };

  test("consumeClaimed: a handler claiming in its own statement, with or without a transaction, has one effect per event", async () => {
    const e = event("o-1", "charged");
    expect(await resultOf(consumeClaimed(db, e, applyClaimed(e), fast))).toBe("handled");
    expect(await resultOf(consumeClaimed(db, e, applyClaimed(e), { ...fast, transaction: false }))).toBe("duplicate");
    expect(await resultOf(consumeOnce(db, e, apply(e), fast))).toBe("duplicate");
    const other = event("o-1", "shipped");
    expect(await resultOf(consumeClaimed(db, other, applyClaimed(other), { ...fast, transaction: false }))).toBe("handled");
    expect(await resultOf(consumeClaimed(db, other, applyClaimed(other), fast))).toBe("duplicate");
    expect(await effects()).toEqual(["charged", "shipped"]);
    expect(await db.selectFrom("inbox").select("event_id").orderBy("event_id").execute()).toEqual(
      [e.id, other.id].sort().map((event_id) => ({ event_id })),
    );
  });

  test("consumeClaimed: a handler that throws after its claim rolls the claim back, and the retry applies it once", async () => {
    const e = event("o-1", "charged");
    let failures = 2;
    const result = await consumeClaimed(
      db,
      e,
      async (trx) => {
        const fresh = await applyClaimed(e)(trx);
        if (failures-- > 0) throw new Error("provider timeout");
        return fresh;
      },
      fast,
    );
    expect(result.result).toBe("handled");
    expect(await effects()).toEqual(["charged"]);
  });

  test("a handler that throws rolls back its effect and the inbox row, and the retry applies it once", async () => {
    const e = event("o-1", "charged");
    let failures = 2;
    const result = await consumeOnce(
      db,
      e,
      async (trx) => {
        await apply(e)(trx);
        if (failures-- > 0) throw new Error("provider timeout");
      },
      fast,
    );
    expect(result.result).toBe("handled");
    expect(await effects()).toEqual(["charged"]);
  });

  test("a poison event is dead-lettered after maxAttempts and the next event is still processed", async () => {
    const poison = event("o-1", "poison");
    const next = event("o-1", "next");
    let attempts = 0;
    const onDeadLetter = vi.fn(async () => {});
    const poisonResult = await consumeOnce(
      db,
      poison,
      async (trx) => {
        attempts++;
        await apply(poison)(trx);
        throw new Error("cannot decode");
      },
      { ...fast, maxAttempts: 3, onDeadLetter },
    );
    expect(poisonResult.result).toBe("dead-lettered");
    expect(attempts).toBe(3);
    expect(onDeadLetter).toHaveBeenCalledWith(poison, expect.objectContaining({ message: "cannot decode" }));
    expect(await db.selectFrom("dead_letters").select(["event_id", "type", "key", "error", "attempts"]).execute()).toEqual([
      { event_id: poison.id, type: poison.type, key: "o-1", error: "Error: cannot decode", attempts: 3 },
    ]);
    const [stored] = await db.selectFrom("dead_letters").select("payload").execute();
    expect(textOf({ ...poison, payload: new Uint8Array(stored.payload) })).toBe("poison");

    expect(await resultOf(consumeOnce(db, next, apply(next), fast))).toBe("handled");
    expect(await effects()).toEqual(["next"]);
    // Redelivered poison counts as consumed.
    expect(await resultOf(consumeOnce(db, poison, apply(poison), fast))).toBe("duplicate");
  });

  test("a transient failure is not dead-lettered: consumeOnce rejects so the bus redelivers later", async () => {
    const e = event("o-1", "charged");
    const down = new ConnectError("catalog unavailable", Code.Unavailable);
    const failing = async () => {
      throw down;
    };
    await expect(consumeOnce(db, e, failing, { ...fast, maxAttempts: 2 })).rejects.toBe(down);
    expect(await db.selectFrom("dead_letters").selectAll().execute()).toEqual([]);
    expect(await resultOf(consumeOnce(db, e, apply(e), fast))).toBe("handled");
    expect(await effects()).toEqual(["charged"]);
  });

  test("resolve to the handler's value when the event is handled now, to the result alone otherwise", async () => {
    const e = event("o-1", "charged");
    const charge = async (trx: Kysely<any>) => {
      await apply(e)(trx);
      return "receipt-1";
    };
    expect(await consumeOnce(db, e, charge, fast)).toEqual({ result: "handled", value: "receipt-1" });
    expect(await consumeOnce(db, e, async () => "receipt-2", fast)).toEqual({ result: "duplicate" });
    const other = event("o-2", "shipped");
    const claimedOnce = async (conn: Kysely<any>) => ((await applyClaimed(other)(conn)) ? { parcel: "p-1" } : false);
    expect(await consumeClaimed(db, other, claimedOnce, fast)).toEqual({ result: "handled", value: { parcel: "p-1" } });
    expect(await consumeClaimed(db, other, claimedOnce, fast)).toEqual({ result: "duplicate" });
  });

  test("an attempt whose handler finished but whose commit failed hands its value to onUncertainCommit", async () => {
    // The unique check runs at commit: the handler finishes, the commit fails.
    await sql`create table parcels (value text not null unique deferrable initially deferred)`.execute(db);
    await sql`insert into parcels values ('taken')`.execute(db);
    const uncertain: string[] = [];
    let attempt = 0;
    const consumed = await consumeOnce(
      db,
      event("o-1", "parcel"),
      async (trx) => {
        attempt++;
        await trx.insertInto("parcels").values({ value: "taken" }).execute();
        return `attempt-${attempt}`;
      },
      { ...fast, maxAttempts: 2, onUncertainCommit: (value) => uncertain.push(value) },
    );
    expect(consumed).toEqual({ result: "dead-lettered" });
    expect(uncertain).toEqual(["attempt-1", "attempt-2"]);
  });

  test("concurrent deliveries of one event have one effect", async () => {
    const e = event("o-1", "once");
    const results = await Promise.all(Array.from({ length: 4 }, () => resultOf(consumeOnce(db, e, apply(e), fast))));
    expect(results.sort()).toEqual(["duplicate", "duplicate", "duplicate", "handled"]);
    expect(await effects()).toEqual(["once"]);
  });

  test("outbox → relay → in-process bus → inbox: each event applied once, even when published again", async () => {
    const bus = createInProcessBus(fast);
    const relay = createOutboxRelay({ db, bus, logger, pollMs: 5 });
    stop = async () => {
      await relay.stop();
      await bus.close();
    };
    const seen: string[] = [];
    bus.subscribe("payment", [StringValueSchema.typeName], (e) =>
      consumeOnce(
        db,
        e,
        async (trx) => {
          seen.push(textOf(e));
          await apply(e)(trx);
        },
        fast,
      ).then(() => {}),
    );
    relay.start();
    const events = [event("o-1", "a"), event("o-1", "b"), event("o-2", "c")];
    await db.transaction().execute((trx) => writeOutbox(trx, events));
    relay.notify();
    await vi.waitFor(async () => expect(await effects()).toEqual(["a", "b", "c"]));

    await bus.publish(events);
    await bus.drain();
    expect(await effects()).toEqual(["a", "b", "c"]);
    expect(seen.filter((v) => v !== "c")).toEqual(["a", "b"]);
    expect(seen.sort()).toEqual(["a", "b", "c"]);
  });
});
