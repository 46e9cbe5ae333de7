import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { DeadLetterStatus, OperationsService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { type Kysely, sql } from "kysely";
import { afterEach, expect, test } from "vitest";
import type { TokenVerifier } from "../auth/token-verifier.js";
import { createEnvelope, createEventRegistry, type Envelope } from "../events/envelope.js";
import { createInProcessBus } from "../events/in-process-bus.js";
import { inboxMigrations } from "../events/inbox.js";
import { outboxMigrations, writeOutbox } from "../events/outbox.js";
import { subscribeInbox } from "../events/subscribe-inbox.js";
import { parseFault } from "../faults/fault-spec.js";
import type { FaultSpec } from "../faults/fault-spec.js";
import { closeClient, createClient } from "../grpc/client.js";
import { serviceRegistration } from "../grpc/service.js";
import { fieldViolationsOf } from "../errors.js";
import { createLogger } from "../logger.js";
import { defineService, type ServiceConfig, type ServiceContext } from "../service-definition.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { forEachBackend, testMeshTls, testTlsEnv, useTestDatabase } from "../testing/index.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";

const logger = createLogger({ level: "silent" });
/** Tokens are user ids; those starting with "op-" are operators'. */
const verifier = {
  verify: async (token: string) => (token.startsWith("op-") ? { userId: token, operator: true } : { userId: token }),
} as unknown as TokenVerifier;
const registry = createEventRegistry([OrderPlacedSchema]);
const placed = (orderId: string): Envelope =>
  createEnvelope(OrderPlacedSchema, create(OrderPlacedSchema, { orderId, userId: "u-1", totalCents: 1250, currency: "EUR" }), {
    source: "order",
    key: orderId,
  });

/** A consumer of OrderPlaced recording each order it applied in `effects`. */
const createConsumerServer = defineService({
  // A workload of the test mesh: the operator policy is enforced over mutual TLS.
  name: "notification",
  migrations: {
    ...inboxMigrations,
    "20261201T0000_effects": {
      async up(db: Kysely<any>) {
        await sql`create table effects (order_id text not null)`.execute(db);
      },
    },
  },
  listen: () => ({ host: "127.0.0.1", port: 0 }),
  create({ db }: ServiceContext<ServiceConfig, any>) {
    return {
      expose: {
        effects: async () => (await db.selectFrom("effects").select("order_id").execute()).map((r: { order_id: string }) => r.order_id),
      },
      rpc: serviceRegistration(CatalogService, catalogHandlers({})),
      verifier,
      subscribe: (bus) => [
        subscribeInbox({
          bus,
          group: "notification",
          events: registry,
          db,
          logger,
          handle: async (trx, event) => {
            const order = registry.decodeAs(OrderPlacedSchema, event);
            await trx.insertInto("effects").values({ order_id: order.orderId }).execute();
          },
        }),
      ],
    };
  },
});

/** A producer of events: `place` writes them to its outbox in one transaction, as a use case does. */
const createProducerServer = defineService({
  name: "order",
  migrations: outboxMigrations,
  outbox: true,
  listen: () => ({ host: "127.0.0.1", port: 0 }),
  create({ db, notifyOutbox }: ServiceContext<ServiceConfig, any>) {
    return {
      expose: {
        place: async (events: readonly Envelope[]) => {
          const written = await db.transaction().execute((trx) => writeOutbox(trx, events));
          notifyOutbox(written);
        },
      },
      rpc: serviceRegistration(CatalogService, catalogHandlers({})),
      verifier,
    };
  },
});

forEachBackend((backend) => {
  const t = useTestDatabase(backend);
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start() {
    const faults = new Map<string, FaultSpec>([[OrderPlacedSchema.typeName, parseFault("code=FAILED_PRECONDITION")]]);
    const bus = createInProcessBus({ logger });
    cleanups.push(() => bus.close());
    const config: ServiceConfig = {
      DB_SCHEMA: await t.createSchema(),
      SHUTDOWN_GRACE_MS: 100,
      FAULTS_ENABLED: true,
      FAULTS_EVENTS: faults,
      ...testTlsEnv(),
    };
    const server = createConsumerServer({ config, db: t.db, logger, bus });
    const port = await server.start();
    cleanups.push(() => server.stop());
    // As the edge calls it: the edge's workload, with the caller's token.
    const ops = createClient(OperationsService, `127.0.0.1:${port}`, {
      logger,
      maxAttempts: 1,
      tls: testMeshTls("edge"),
      serverWorkload: "notification",
    });
    cleanups.push(() => closeClient(ops));
    const as = (token: string) => ({ metadata: { authorization: `Bearer ${token}` } });
    return { faults, bus, server, ops, as, schema: config.DB_SCHEMA };
  }

  test("a poison event is dead-lettered, read decoded, replayed once the fault is cleared, and applied once", async () => {
    const { bus, server, ops, as } = await start();
    const poison = placed("o-poison");
    await bus.publish([poison]);
    const op = as("op-ada");

    await expect.poll(async () => (await ops.getEventHealth({}, op)).health?.deadLetters, { timeout: 5_000 }).toBe(1n);
    const [letter] = (await ops.listDeadLetters({}, op)).items;
    expect(letter).toMatchObject({
      id: poison.id,
      service: "notification",
      group: "notification",
      eventType: "shop.order.v1.OrderPlaced",
      key: "o-poison",
      attempts: 5,
      status: DeadLetterStatus.DEAD,
      payload: { order_id: "o-poison", user_id: "u-1", total_cents: 1250, currency: "EUR" },
    });
    expect(letter?.error).not.toBe("");
    expect(await server.effects()).toEqual([]);

    // The fault still there: the replay fails again and the letter is dead again.
    const again = (await ops.replayDeadLetter({ id: poison.id, reason: "try once more" }, op)).deadLetter;
    expect(again?.status).toBe(DeadLetterStatus.DEAD);
    expect(await server.effects()).toEqual([]);

    await ops.setFaults({ faults: { calls: "", events: {} }, reason: "consumer fixed" }, op);
    const replayed = (await ops.replayDeadLetter({ id: poison.id, reason: "consumer fixed" }, op)).deadLetter;
    expect(replayed).toMatchObject({ status: DeadLetterStatus.REPLAYED, resolvedBy: "op-ada", resolutionReason: "consumer fixed" });
    expect(await server.effects()).toEqual(["o-poison"]);

    // Replayed already: refused, and the bus delivering it again changes nothing.
    await expect(ops.replayDeadLetter({ id: poison.id, reason: "twice" }, op)).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await bus.publish([poison]);
    expect(await server.effects()).toEqual(["o-poison"]);
    expect((await ops.getEventHealth({}, op)).health?.deadLetters).toBe(0n);
    expect((await ops.listDeadLetters({ status: DeadLetterStatus.REPLAYED }, op)).items.map((l) => l.id)).toEqual([poison.id]);

    const audit = (await ops.listAudit({}, op)).items;
    expect(audit.map((a) => [a.actor, a.action, a.target, a.reason])).toEqual([
      ["op-ada", "dead_letter.replay", poison.id, "consumer fixed"],
      ["op-ada", "faults.set", "notification", "consumer fixed"],
      ["op-ada", "dead_letter.replay", poison.id, "try once more"],
    ]);
    expect(audit[0]?.details).toMatchObject({ service: "notification", event_type: "shop.order.v1.OrderPlaced", key: "o-poison" });
  });

  test("a discarded letter is never applied, and is audited", async () => {
    const { bus, server, ops, as } = await start();
    const poison = placed("o-discard");
    await bus.publish([poison]);
    const op = as("op-bob");
    await expect.poll(async () => (await ops.listDeadLetters({}, op)).items.length, { timeout: 5_000 }).toBe(1);
    await ops.setFaults({ faults: { calls: "", events: {} }, reason: "consumer fixed" }, op);

    await expect(ops.discardDeadLetter({ id: poison.id, reason: "" }, op)).rejects.toMatchObject({ code: Code.InvalidArgument });
    const discarded = (await ops.discardDeadLetter({ id: poison.id, reason: "test order" }, op)).deadLetter;
    expect(discarded).toMatchObject({ status: DeadLetterStatus.DISCARDED, resolvedBy: "op-bob", resolutionReason: "test order" });
    await expect(ops.replayDeadLetter({ id: poison.id, reason: "no" }, op)).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await expect(ops.discardDeadLetter({ id: poison.id, reason: "no" }, op)).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await bus.publish([poison]);
    expect(await server.effects()).toEqual([]);
    expect((await ops.listAudit({}, op)).items.map((a) => [a.actor, a.action, a.reason])).toEqual([
      ["op-bob", "dead_letter.discard", "test order"],
      ["op-bob", "faults.set", "consumer fixed"],
    ]);
    await expect(ops.replayDeadLetter({ id: "0190a000-0000-7000-8000-000000000000", reason: "x" }, op)).rejects.toMatchObject({
      code: Code.NotFound,
    });
  });

  test("a replay stopped half way is finished by replaying again, and applies the event once", async () => {
    const { bus, server, ops, as, schema } = await start();
    const op = as("op-ada");
    const [stopped, applied] = [placed("o-stopped"), placed("o-applied")];
    await bus.publish([stopped, applied]);
    await expect.poll(async () => (await ops.listDeadLetters({}, op)).items.length, { timeout: 5_000 }).toBe(2);
    await ops.setFaults({ faults: { calls: "", events: {} }, reason: "consumer fixed" }, op);
    const db = t.db.kysely(schema);
    // Stopped after its first step: the inbox row deleted, the letter "replaying".
    await db.deleteFrom("inbox").where("event_id", "in", [stopped.id, applied.id]).execute();
    await db.updateTable("dead_letters").set({ status: "replaying" }).where("event_id", "in", [stopped.id, applied.id]).execute();
    // Stopped after its second: the event applied, the letter not marked yet.
    await bus.publish([applied]);
    expect(await server.effects()).toEqual(["o-applied"]);
    expect((await ops.listDeadLetters({ status: DeadLetterStatus.REPLAYING }, op)).items).toHaveLength(2);

    for (const e of [stopped, applied]) {
      expect((await ops.replayDeadLetter({ id: e.id, reason: "finish" }, op)).deadLetter?.status).toBe(DeadLetterStatus.REPLAYED);
    }
    expect((await server.effects()).sort()).toEqual(["o-applied", "o-stopped"]);
  });

  test("every waiting letter, or those of one type, is replayed or discarded at once, each audited", async () => {
    const { bus, server, ops, as } = await start();
    const op = as("op-ada");
    const events = [placed("o-1"), placed("o-2"), placed("o-3")];
    await bus.publish(events);
    await expect.poll(async () => (await ops.listDeadLetters({}, op)).items.length, { timeout: 5_000 }).toBe(3);
    await expect(ops.replayDeadLetters({ reason: "" }, op)).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect((await ops.replayDeadLetters({ eventType: "shop.other.v1.Nothing", reason: "none of these" }, op)).items).toEqual([]);

    const discarded = await ops.discardDeadLetters({ reason: "test orders", limit: 1 }, op);
    expect(discarded.items.map((l) => l.status)).toEqual([DeadLetterStatus.DISCARDED]);
    const rest = events.map((e) => e.key).filter((k) => k !== discarded.items[0]?.key);
    await ops.setFaults({ faults: { calls: "", events: {} }, reason: "consumer fixed" }, op);
    const replayed = await ops.replayDeadLetters({ eventType: OrderPlacedSchema.typeName, reason: "consumer fixed" }, op);
    expect(replayed.items.map((l) => [l.key, l.status]).sort()).toEqual(rest.map((k) => [k, DeadLetterStatus.REPLAYED]));
    expect((await server.effects()).sort()).toEqual(rest);
    expect((await ops.listAudit({}, op)).items.map((a) => a.action)).toEqual([
      "dead_letter.replay",
      "dead_letter.replay",
      "faults.set",
      "dead_letter.discard",
    ]);
  });

  test("only operators reach the operations service", async () => {
    const { ops, as } = await start();
    const code = (p: Promise<unknown>) =>
      p.then(
        () => Code[0],
        (e: unknown) => Code[ConnectError.from(e).code],
      );
    expect(await code(ops.listDeadLetters({}, as("u-shopper")))).toBe(Code[Code.PermissionDenied]);
    // Through the edge's certificate without a token (the edge itself answers 401 first).
    expect(await code(ops.getEventHealth({}))).toBe(Code[Code.PermissionDenied]);
    expect(await code(ops.listAudit({}, as("u-shopper")))).toBe(Code[Code.PermissionDenied]);
    expect(await code(ops.listAudit({ pageToken: "garbage!" }, as("op-ada")))).toBe(Code[Code.InvalidArgument]);
  });
});

forEachBackend((backend) => {
  const t = useTestDatabase(backend);
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function startService(env: Partial<ServiceConfig> = {}) {
    const bus = createInProcessBus({ logger });
    cleanups.push(() => bus.close());
    const config: ServiceConfig = {
      DB_SCHEMA: await t.createSchema(),
      SHUTDOWN_GRACE_MS: 100,
      FAULTS_ENABLED: false,
      FAULTS_EVENTS: undefined,
      ...testTlsEnv(),
      ...env,
    };
    const server = createConsumerServer({ config, db: t.db, logger, bus });
    const port = await server.start();
    cleanups.push(() => server.stop());
    const client = <S extends typeof OperationsService | typeof CatalogService>(service: S) => {
      const c = createClient(service, `127.0.0.1:${port}`, {
        logger,
        maxAttempts: 1,
        tls: testMeshTls("edge"),
        serverWorkload: "notification",
      });
      cleanups.push(() => closeClient(c));
      return c;
    };
    return { bus, server, ops: client(OperationsService), catalog: client(CatalogService) };
  }

  const op = { metadata: { authorization: "Bearer op-ada" } };
  const off = { calls: "", events: {}, provider: "", broker: "" };

  async function startProducer(bus: ReturnType<typeof createInProcessBus>) {
    const config: ServiceConfig = {
      DB_SCHEMA: await t.createSchema(),
      SHUTDOWN_GRACE_MS: 100,
      FAULTS_ENABLED: false,
      FAULTS_EVENTS: undefined,
      ...testTlsEnv(),
    };
    const server = createProducerServer({ config, db: t.db, logger, bus });
    const port = await server.start();
    cleanups.push(() => server.stop());
    const ops = createClient(OperationsService, `127.0.0.1:${port}`, {
      logger,
      maxAttempts: 1,
      tls: testMeshTls("edge"),
      serverWorkload: "order",
    });
    cleanups.push(() => closeClient(ops));
    return { server, ops };
  }

  test("the broker away holds a service's events in its outbox; back, they all go out once, in order", async () => {
    const { bus, server: consumer } = await startService();
    const { server: producer, ops } = await startProducer(bus);
    const published: string[] = [];
    const watching = bus.subscribe("watcher", [OrderPlacedSchema.typeName], async (event) => {
      published.push(event.id);
    });
    cleanups.push(() => watching.unsubscribe());
    const backlog = async () => (await ops.getEventHealth({}, op)).health?.outboxBacklog;

    const set = await ops.setFaults({ faults: { ...off, broker: "code=UNAVAILABLE" }, reason: "broker outage drill" }, op);
    expect(set.faults?.broker).toBe("code=UNAVAILABLE");
    const orders = ["o-1", "o-2", "o-3", "o-4", "o-5"];
    // One key, so that their order is kept from end to end.
    const events = orders.map((id) => ({ ...placed(id), key: "basket" }));
    await producer.place(events.slice(0, 2));
    await producer.place(events.slice(2, 3));
    await producer.place(events.slice(3));
    await expect.poll(backlog, { timeout: 5_000 }).toBe(5n);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await backlog()).toBe(5n);
    expect(published).toEqual([]);

    await ops.setFaults({ faults: off, reason: "broker back" }, op);
    await expect.poll(async () => (await consumer.effects()).sort(), { timeout: 10_000 }).toEqual(orders);
    // Marked published at the relay's next claim.
    await expect.poll(backlog, { timeout: 5_000 }).toBe(0n);
    await bus.drain();
    expect(published).toEqual(events.map((e) => e.id));
    expect((await ops.listAudit({}, op)).items.map((a) => a.reason)).toEqual(["broker back", "broker outage drill"]);
  });

  test("a slow broker delays the events, losing none", async () => {
    const { bus, server: consumer } = await startService();
    const { server: producer, ops } = await startProducer(bus);
    await ops.setFaults({ faults: { ...off, broker: "delay=200ms" }, reason: "slow broker drill" }, op);
    const started = performance.now();
    await producer.place([placed("o-slow")]);
    await expect.poll(() => consumer.effects(), { timeout: 5_000 }).toEqual(["o-slow"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  test("an operator switches a fault on the service's calls on and off live; operations and health stay untouched", async () => {
    const { ops, catalog } = await startService();
    const call = () =>
      catalog.getProduct({ id: "p-1" }, op).then(
        () => "ok",
        (err) => ConnectError.from(err).code,
      );
    const before = await call();
    const set = await ops.setFaults({ faults: { calls: "code=UNAVAILABLE", events: {} }, reason: "chaos drill" }, op);
    expect(set.faults).toMatchObject({ calls: "code=UNAVAILABLE" });
    expect(await call()).toBe(Code.Unavailable);
    expect((await ops.getFaults({}, op)).faults?.calls).toBe("code=UNAVAILABLE");
    await ops.setFaults({ faults: off, reason: "drill over" }, op);
    expect(await call()).toBe(before);
    const audit = (await ops.listAudit({}, op)).items.map((a) => [a.action, a.target, a.reason]);
    expect(audit).toEqual([
      ["faults.set", "notification", "drill over"],
      ["faults.set", "notification", "chaos drill"],
    ]);
  });

  test("an event fault switched on live dead-letters that type; switched off, the next event is applied", async () => {
    const { bus, server, ops } = await startService();
    await ops.setFaults(
      { faults: { calls: "", events: { [OrderPlacedSchema.typeName]: "code=FAILED_PRECONDITION" } }, reason: "poison drill" },
      op,
    );
    await bus.publish([placed("o-poisoned")]);
    await expect.poll(async () => (await ops.getEventHealth({}, op)).health?.deadLetters, { timeout: 5_000 }).toBe(1n);
    await ops.setFaults({ faults: off, reason: "drill over" }, op);
    await bus.publish([placed("o-fine")]);
    await expect.poll(() => server.effects(), { timeout: 5_000 }).toEqual(["o-fine"]);
  });

  test("malformed specs, a missing reason, a shopper and production are refused, and nothing changes", async () => {
    const { ops } = await startService();
    const malformed = await ops
      .setFaults({ faults: { calls: "code=NOPE", events: { OrderPlaced: "code=UNAVAILABLE" } }, reason: "x" }, op)
      .then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
    expect(malformed?.code).toBe(Code.InvalidArgument);
    expect(fieldViolationsOf(malformed as ConnectError).map((v) => v.field)).toEqual(["faults.calls", "faults.events[OrderPlaced]"]);
    await expect(ops.setFaults({ faults: { calls: "code=UNAVAILABLE", events: {} }, reason: " " }, op)).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
    await expect(
      ops.setFaults(
        { faults: { calls: "code=UNAVAILABLE", events: {} }, reason: "mine" },
        { metadata: { authorization: "Bearer shopper" } },
      ),
    ).rejects.toMatchObject({ code: Code.PermissionDenied });
    expect((await ops.getFaults({}, op)).faults).toMatchObject({ calls: "", events: {} });
    // Only payment calls a payment provider.
    const provider = await ops.setFaults({ faults: { ...off, provider: "decline;rate=0.2" }, reason: "x" }, op).then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(provider?.code).toBe(Code.InvalidArgument);
    expect(fieldViolationsOf(provider as ConnectError).map((v) => v.field)).toEqual(["faults.provider"]);
    expect((await ops.getFaults({}, op)).faults).toEqual(expect.objectContaining({ provider: "", broker: "" }));

    const production = await startService({ NODE_ENV: "production" });
    expect((await production.ops.getFaults({}, op)).switchable).toBe(false);
    await expect(production.ops.setFaults({ faults: { calls: "delay=1s", events: {} }, reason: "drill" }, op)).rejects.toMatchObject({
      code: Code.FailedPrecondition,
    });
  });
});
