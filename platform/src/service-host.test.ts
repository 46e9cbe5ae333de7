import { create } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { sql } from "kysely";
import { expect, test, vi } from "vitest";
import type { Migration } from "./db/migrate.js";
import { createEnvelope, type Envelope } from "./events/envelope.js";
import type { EventBus } from "./events/event-bus.js";
import { outboxMigrations, writeOutbox } from "./events/outbox.js";
import { createLogger } from "./logger.js";
import { createServiceHost } from "./service-host.js";
import { forEachBackend, useTestDatabase } from "./testing/index.js";

const logger = createLogger({ level: "silent" });

forEachBackend((backend) => {
  const t = useTestDatabase(backend);

  test("start/stop are idempotent, migrations are applied, the relay publishes after notify", async () => {
    const schema = await t.createSchema();
    const db = t.db.kysely(schema);
    const published: Envelope[] = [];
    const bus: EventBus = {
      async publish(events) {
        published.push(...events);
      },
      subscribe: () => ({ unsubscribe: async () => {} }) as never,
      close: async () => {},
    };
    const widgets: Migration = {
      up: async (k) => {
        await k.schema
          .createTable("widgets")
          .addColumn("id", "text", (c) => c.primaryKey())
          .execute();
      },
    };
    const onStop = vi.fn();
    const host = createServiceHost({
      name: "test",
      logger,
      db,
      schema,
      migrations: { ...outboxMigrations, "20990101T0000_widgets": widgets },
      grpc: { host: "127.0.0.1", port: 0, shutdownGraceMs: 100 },
      bus,
      outbox: true,
      build: () => ({ services: [], onStop }),
    });
    const port = await host.start();
    expect(await host.start()).toBe(port);
    expect(host.port).toBe(port);
    await sql`select id from widgets`.execute(db);

    const event = createEnvelope(StringValueSchema, create(StringValueSchema, { value: "x" }), {
      source: "test",
      key: "k",
    });
    await db.transaction().execute((trx) => writeOutbox(trx, event));
    host.notifyOutbox();
    await vi.waitFor(() => expect(published.map((e) => e.id)).toEqual([event.id]));

    await Promise.all([host.stop(), host.stop()]);
    await host.stop();
    expect(onStop).toHaveBeenCalledTimes(1);
  });
});
