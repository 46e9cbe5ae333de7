import { create } from "@bufbuild/protobuf";
import { OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { type Kysely, sql } from "kysely";
import { afterEach, beforeEach, expect, test } from "vitest";
import { migrateToLatest } from "../db/migrate.js";
import { createLogger } from "../logger.js";
import { forEachBackend, useTestDatabase } from "../testing/index.js";
import { createEnvelope, createEventRegistry, type Envelope } from "./envelope.js";
import { createInProcessBus, type InProcessBus } from "./in-process-bus.js";
import { type Consumed, inboxMigrations, withInboxClaim } from "./inbox.js";
import { observeBus } from "./observed-bus.js";
import { subscribeInbox } from "./subscribe-inbox.js";

const lines: Array<Record<string, unknown>> = [];
const logger = createLogger({
  level: "info",
  destination: {
    write(chunk: string) {
      lines.push(JSON.parse(chunk) as Record<string, unknown>);
    },
  },
});
const quiet = { logger: createLogger({ level: "silent" }), retry: { initialMs: 1, maxMs: 5 } };
const events = createEventRegistry([OrderPlacedSchema]);
const placed = (orderId: string) =>
  createEnvelope(OrderPlacedSchema, create(OrderPlacedSchema, { orderId, totalCents: 500 }), { source: "order", key: orderId });

forEachBackend((backend) => {
  const t = useTestDatabase(backend);
  let db: Kysely<any>;
  let bus: InProcessBus;

  beforeEach(async () => {
    const schema = await t.createSchema();
    db = t.db.kysely(schema);
    await migrateToLatest(db, schema, inboxMigrations, quiet.logger);
    await sql`create table charges (order_id text not null)`.execute(db);
    bus = createInProcessBus(quiet);
    lines.length = 0;
  });
  afterEach(() => bus.close());

  const charges = async () => (await db.selectFrom("charges").select("order_id").execute()).map((r) => r.order_id);

  test("each event takes effect once, and `after` gets the effect's value or what consuming came to", async () => {
    const after: Array<Consumed<number>> = [];
    subscribeInbox({
      bus: observeBus(bus, "payment", logger),
      group: "payment",
      events,
      db,
      logger: quiet.logger,
      handle: async (trx, event) => {
        const order = events.decodeAs(OrderPlacedSchema, event);
        await trx.insertInto("charges").values({ order_id: order.orderId }).execute();
        return order.totalCents;
      },
      after: (consumed) => {
        after.push(consumed);
      },
    });
    const event = placed("o-1");
    await bus.publish([event, event]);
    await bus.drain();
    expect(await charges()).toEqual(["o-1"]);
    expect(after).toEqual([{ result: "handled", value: 500 }, { result: "duplicate" }]);
    // The contract names the key: the summary lines carry it as order_id.
    const consumed = lines.filter((l) => l.msg === "event consumed");
    expect(consumed.map((l) => [l.order_id, l.outcome])).toEqual([
      ["o-1", "handled"],
      ["o-1", "duplicate"],
    ]);
  });

  test("a claiming effect resolves to false for a duplicate; without a transaction it runs on the schema handle", async () => {
    const after: Array<Consumed<string>> = [];
    subscribeInbox({
      bus,
      group: "payment",
      events,
      db,
      logger: quiet.logger,
      transaction: false,
      claimed: async (conn, event: Envelope) => {
        const rows = await withInboxClaim(conn, event)
          .insertInto("charges")
          .expression((eb) => eb.selectFrom("inbox_claim").select(eb.val(event.key).as("order_id")))
          .returning("order_id")
          .execute();
        return rows[0]?.order_id ?? false;
      },
      after: (consumed) => {
        after.push(consumed);
      },
    });
    const event = placed("o-2");
    await bus.publish([event]);
    await bus.publish([event]);
    await bus.drain();
    expect(await charges()).toEqual(["o-2"]);
    expect(after).toEqual([{ result: "handled", value: "o-2" }, { result: "duplicate" }]);
  });
});
