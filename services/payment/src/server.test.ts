import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  closeClient,
  type createClient,
  createEnvelope,
  createEventRegistry,
  createInProcessBus,
  createLogger,
  type Envelope,
  uuidv7,
} from "@shopmesh/platform";
import {
  createTestClient,
  createTestTokenIssuer,
  forEachBackend,
  type TestDatabase,
  useTestDatabase,
  violatedFieldsOf,
  testTlsEnv,
} from "@shopmesh/platform/testing";
import { StockRejectedSchema, StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { OrderPlacedSchema, OrderRefundRequestedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { PaymentFailedSchema, PaymentRefundedSchema, PaymentSucceededSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { OperationsService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readPaymentConfig } from "./config.js";
import type { PaymentDb } from "./db/tables.js";
import { createPaymentServer, type PaymentServer } from "./index.js";
import { createDbLedger } from "./db/provider-ledger.repository.js";
import { createFakeProvider } from "./clients/fake-provider.js";
import type { PaymentProvider } from "./clients/payment-provider.js";

/**
 * Payment through its public contract: a real server on port 0 over each database backend,
 * called over gRPC, fed the saga's events on an in-process bus; tokens are real ES256 JWTs
 * checked by the platform verifier over a static JWKS.
 */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const registry = createEventRegistry([PaymentSucceededSchema, PaymentFailedSchema, PaymentRefundedSchema]);
const PAYMENT_TYPES = [PaymentSucceededSchema, PaymentFailedSchema, PaymentRefundedSchema].map((s) => s.typeName);
const chargeRetry = { attempts: 3, initialMs: 1, maxMs: 2 };

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

const issuer = await createTestTokenIssuer();
const bearer = (userId: string) => issuer.as(userId);

const orderPlaced = (orderId: string, userId: string, paymentMethod = "", totalCents = 1999) =>
  createEnvelope(OrderPlacedSchema, create(OrderPlacedSchema, { orderId, userId, totalCents, currency: "EUR", paymentMethod }), {
    source: "order",
    key: orderId,
  });
const stockReserved = (orderId: string) =>
  createEnvelope(StockReservedSchema, create(StockReservedSchema, { orderId }), { source: "catalog", key: orderId });
const stockRejected = (orderId: string) =>
  createEnvelope(StockRejectedSchema, create(StockRejectedSchema, { orderId, reason: "out_of_stock" }), {
    source: "catalog",
    key: orderId,
  });

/** What OrderPlaced leaves in a schema whose service runs without a bus: the order's charge details. */
const insertPlaced = async (db: Kysely<PaymentDb>, intent: { orderId: string; userId: string; amountCents: number; currency: string }) => {
  await db
    .insertInto("checkouts")
    .values({
      order_id: intent.orderId,
      placed: true,
      user_id: intent.userId,
      amount_cents: intent.amountCents,
      currency: intent.currency,
      payment_method: "",
      stock: null,
      updated_at: new Date(),
    })
    .execute();
};

/** What a crash right after the PENDING payment committed leaves behind. */
const insertPending = async (db: Kysely<PaymentDb>, orderId: string, createdAt: Date) => {
  await db
    .insertInto("payments")
    .values({
      id: uuidv7(createdAt.getTime()),
      order_id: orderId,
      user_id: uuidv7(),
      amount_cents: 700,
      currency: "EUR",
      payment_method: "pm_test_ok",
      card_last4: "",
      status: "PENDING",
      attempts: 0,
      created_at: createdAt,
      updated_at: createdAt,
    })
    .execute();
};

forEachBackend((backend) => {
  describe(`payment service (${backend.name})`, () => {
    const t: TestDatabase = useTestDatabase(backend);
    const bus = createInProcessBus({ logger, retry: { initialMs: 2, maxMs: 20 } });
    const received: Envelope[] = [];
    let service: PaymentServer;
    let client: ReturnType<typeof createClient<typeof PaymentService>>;

    const { verifier } = issuer;

    beforeAll(async () => {
      bus.subscribe("test", PAYMENT_TYPES, async (e) => {
        received.push(e);
      });
      service = createPaymentServer({
        config: readPaymentConfig({ ...testTlsEnv(), DB_SCHEMA: t.schema }),
        db: t.db,
        logger,
        host: "127.0.0.1",
        port: 0,
        bus,
        verifier,
        chargeRetry,
      });
      await service.start();
      client = createTestClient(PaymentService, `127.0.0.1:${service.port}`);
    });

    afterAll(async () => {
      if (client) closeClient(client);
      await service?.stop();
      await bus.close();
    });

    const eventsOf = (orderId: string) => received.filter((e) => e.key === orderId);
    /** Publishes the events and waits until the payment service has consumed them. */
    const told = async (...events: Envelope[]) => {
      await bus.publish(events);
      await bus.drain();
    };
    /** Waits for the order's first payment event, then lets the bus settle so late duplicates would show. */
    const settled = async (orderId: string) => {
      await vi.waitFor(() => expect(eventsOf(orderId).length).toBeGreaterThan(0), { timeout: 10_000, interval: 10 });
      await bus.drain();
      return eventsOf(orderId);
    };
    const ledgerCalls = async (orderId: string) => {
      const row = await t
        .kysely()
        .selectFrom("provider_ledger")
        .select("calls")
        .where("idempotency_key", "=", `charge:${orderId}`)
        .executeTakeFirst();
      return row?.calls ?? 0;
    };
    const paymentsOf = (orderId: string) => t.kysely().selectFrom("payments").selectAll().where("order_id", "=", orderId).execute();

    it.each([
      ["OrderPlaced first", (o: string, u: string) => [orderPlaced(o, u), stockReserved(o)]],
      ["StockReserved first", (o: string, u: string) => [stockReserved(o), orderPlaced(o, u)]],
    ])("charges once OrderPlaced and StockReserved have both arrived (%s)", async (_name, events) => {
      const orderId = uuidv7();
      const userId = uuidv7();
      await bus.publish(events(orderId, userId));
      const [event, ...more] = await settled(orderId);
      expect(more).toEqual([]);
      expect(event!.type).toBe(PaymentSucceededSchema.typeName);
      expect(registry.decodeAs(PaymentSucceededSchema, event!)).toMatchObject({ orderId, userId, amountCents: 1999, currency: "EUR" });
      const { payment } = await client.getPayment({ lookup: { case: "orderId", value: orderId } }, await bearer(userId));
      expect(payment).toMatchObject({
        orderId,
        userId,
        status: PaymentStatus.SUCCEEDED,
        cardLast4: "4242",
        attempts: 1,
        failureReason: "",
      });
    });

    it("redelivered events, and re-emitted ones with new ids, charge no second time", async () => {
      const orderId = uuidv7();
      const userId = uuidv7();
      const first = [orderPlaced(orderId, userId), stockReserved(orderId)];
      await bus.publish(first);
      await settled(orderId);
      await bus.publish(first);
      await bus.publish([stockReserved(orderId), orderPlaced(orderId, userId)]);
      await bus.drain();
      expect(eventsOf(orderId).map((e) => e.type)).toEqual([PaymentSucceededSchema.typeName]);
      expect(await paymentsOf(orderId)).toHaveLength(1);
      expect(await ledgerCalls(orderId)).toBe(1);
    });

    it("a declined card fails the payment with reason declined", async () => {
      const orderId = uuidv7();
      const { paymentMethod } = await client.tokenizeCard({ cardNumber: "4000 0000 0000 0002" });
      await bus.publish([orderPlaced(orderId, uuidv7(), paymentMethod), stockReserved(orderId)]);
      const [event, ...more] = await settled(orderId);
      expect(more).toEqual([]);
      expect(registry.decodeAs(PaymentFailedSchema, event!)).toMatchObject({ orderId, reason: "declined" });
      expect((await paymentsOf(orderId))[0]).toMatchObject({ status: "FAILED", failure_reason: "declined", card_last4: "0002" });
    });

    it("an operator's provider fault (SetFaults) declines charges through the saga; switched off, charges succeed again", async () => {
      const ops = createTestClient(OperationsService, `127.0.0.1:${service.port}`, { serverWorkload: "payment" });
      const op = await issuer.asOperator();
      const noFaults = { calls: "", events: {}, provider: "", broker: "" };
      try {
        const set = await ops.setFaults({ faults: { ...noFaults, provider: "decline" }, reason: "chaos drill" }, op);
        expect(set.faults?.provider).toBe("decline");
        expect((await ops.getFaults({}, op)).faults?.provider).toBe("decline");
        const declined = uuidv7();
        await bus.publish([orderPlaced(declined, uuidv7()), stockReserved(declined)]);
        const [event, ...more] = await settled(declined);
        expect(more).toEqual([]);
        expect(registry.decodeAs(PaymentFailedSchema, event!)).toMatchObject({ orderId: declined, reason: "declined" });
        expect((await paymentsOf(declined))[0]).toMatchObject({ status: "FAILED", failure_reason: "declined" });

        // A transient fault at rate 1: retried as an outage, then given up.
        await ops.setFaults({ faults: { ...noFaults, provider: "code=UNAVAILABLE" }, reason: "provider outage drill" }, op);
        const away = uuidv7();
        await bus.publish([orderPlaced(away, uuidv7()), stockReserved(away)]);
        const [failed] = await settled(away);
        expect(registry.decodeAs(PaymentFailedSchema, failed!)).toMatchObject({ orderId: away, reason: "provider_unavailable" });
        expect((await paymentsOf(away))[0]).toMatchObject({ status: "FAILED", attempts: chargeRetry.attempts });

        await ops.setFaults({ faults: noFaults, reason: "drill over" }, op);
        const fine = uuidv7();
        await bus.publish([orderPlaced(fine, uuidv7()), stockReserved(fine)]);
        const [paid] = await settled(fine);
        expect(paid!.type).toBe(PaymentSucceededSchema.typeName);
      } finally {
        await ops.setFaults({ faults: noFaults, reason: "cleanup" }, op).catch(() => undefined);
        closeClient(ops);
      }
    });

    it("the flaky card succeeds after one retry", async () => {
      const orderId = uuidv7();
      const { paymentMethod } = await client.tokenizeCard({ cardNumber: "4000000000000119" });
      expect(paymentMethod).toBe("pm_test_flaky");
      await bus.publish([orderPlaced(orderId, uuidv7(), paymentMethod), stockReserved(orderId)]);
      const [event] = await settled(orderId);
      expect(event!.type).toBe(PaymentSucceededSchema.typeName);
      expect((await paymentsOf(orderId))[0]).toMatchObject({ status: "SUCCEEDED", attempts: 2 });
    });

    it("the unavailable card fails with provider_unavailable once the retries are spent", async () => {
      const orderId = uuidv7();
      await bus.publish([orderPlaced(orderId, uuidv7(), "pm_test_unavailable"), stockReserved(orderId)]);
      const [event, ...more] = await settled(orderId);
      expect(more).toEqual([]);
      expect(registry.decodeAs(PaymentFailedSchema, event!)).toMatchObject({ orderId, reason: "provider_unavailable" });
      expect((await paymentsOf(orderId))[0]).toMatchObject({ status: "FAILED", attempts: chargeRetry.attempts });
    });

    it("an unknown token fails with invalid_payment_method without calling the provider", async () => {
      const orderId = uuidv7();
      await bus.publish([orderPlaced(orderId, uuidv7(), "pm_never_issued"), stockReserved(orderId)]);
      const [event] = await settled(orderId);
      expect(registry.decodeAs(PaymentFailedSchema, event!).reason).toBe("invalid_payment_method");
      expect(await ledgerCalls(orderId)).toBe(0);
    });

    it("StockRejected means no charge, even when OrderPlaced or StockReserved come later", async () => {
      const rejectedFirst = uuidv7();
      const placedFirst = uuidv7();
      await bus.publish([stockRejected(rejectedFirst), orderPlaced(rejectedFirst, uuidv7()), stockReserved(rejectedFirst)]);
      await bus.publish([orderPlaced(placedFirst, uuidv7()), stockRejected(placedFirst)]);
      await bus.drain();
      for (const orderId of [rejectedFirst, placedFirst]) {
        expect(eventsOf(orderId)).toEqual([]);
        expect(await paymentsOf(orderId)).toEqual([]);
        expect(await ledgerCalls(orderId)).toBe(0);
      }
    });

    it("Charge twice for one order makes one payment; another amount is ALREADY_EXISTS", async () => {
      const orderId = uuidv7();
      const req = { orderId, userId: uuidv7(), amountCents: 500, currency: "EUR", paymentMethod: "" };
      await told(orderPlaced(orderId, req.userId, "", 500));
      const [a, b] = await Promise.all([client.charge(req), client.charge(req)]);
      const again = await client.charge(req);
      expect(a.payment?.status).toBe(PaymentStatus.SUCCEEDED);
      expect(b.payment?.id).toBe(a.payment?.id);
      expect(again.payment?.id).toBe(a.payment?.id);
      expect(await codeOf(client.charge({ ...req, amountCents: 501 }))).toBe(Code.AlreadyExists);
      const events = await settled(orderId);
      expect(events.map((e) => e.type)).toEqual([PaymentSucceededSchema.typeName]);
      expect(await paymentsOf(orderId)).toHaveLength(1);
      const list = await client.listPayments({ orderId });
      expect(list.items.map((p) => p.id)).toEqual([a.payment?.id]);
    });

    it("Charge refuses an order no OrderPlaced told of, or told of otherwise: FAILED_PRECONDITION, nothing charged", async () => {
      const unknown = uuidv7();
      const userId = uuidv7();
      const req = { orderId: unknown, userId, amountCents: 1999, currency: "EUR", paymentMethod: "" };
      expect(await codeOf(client.charge(req))).toBe(Code.FailedPrecondition);
      // Only the catalog's answer is known: still no OrderPlaced.
      await told(stockReserved(unknown));
      expect(await codeOf(client.charge(req))).toBe(Code.FailedPrecondition);

      const placed = uuidv7();
      await told(orderPlaced(placed, userId, "", 1999));
      const asPlaced = { ...req, orderId: placed };
      for (const other of [{ amountCents: 1 }, { currency: "USD" }, { userId: uuidv7() }]) {
        expect(await codeOf(client.charge({ ...asPlaced, ...other }))).toBe(Code.FailedPrecondition);
      }
      await bus.drain();
      for (const orderId of [unknown, placed]) {
        expect(await paymentsOf(orderId)).toEqual([]);
        expect(await ledgerCalls(orderId)).toBe(0);
        expect(eventsOf(orderId)).toEqual([]);
      }
      // As placed, it is charged.
      expect((await client.charge(asPlaced)).payment?.status).toBe(PaymentStatus.SUCCEEDED);
    });

    it("Charge validates its input", async () => {
      const ok = { orderId: uuidv7(), userId: uuidv7(), amountCents: 500, currency: "EUR", paymentMethod: "" };
      for (const bad of [{ orderId: "" }, { userId: "" }, { amountCents: 0 }, { currency: "eur" }, { paymentMethod: "4242424242424242" }]) {
        expect(await codeOf(client.charge({ ...ok, ...bad }))).toBe(Code.InvalidArgument);
      }
      expect(await codeOf(client.tokenizeCard({ cardNumber: "4242424242424241" }))).toBe(Code.InvalidArgument);
    });

    it("names every bad field of Charge, Refund, ListPayments, GetPayment and TokenizeCard at once, one field violation each", async () => {
      expect(
        await violatedFieldsOf(
          client.charge({ orderId: " ", userId: "", amountCents: -5, currency: "eur", paymentMethod: "4242424242424242" }),
        ),
      ).toEqual(["order_id", "user_id", "amount_cents", "currency", "payment_method"]);
      expect(await violatedFieldsOf(client.charge({ orderId: uuidv7(), userId: uuidv7(), amountCents: 0, currency: "EURO" }))).toEqual([
        "amount_cents",
        "currency",
      ]);
      expect(await violatedFieldsOf(client.refund({ orderId: "", reason: "x".repeat(201) }))).toEqual(["order_id", "reason"]);
      expect(
        await violatedFieldsOf(
          client.listPayments({
            pageSize: 501,
            pageToken: "garbage",
            statuses: [PaymentStatus.FAILED, PaymentStatus.UNSPECIFIED, 99 as PaymentStatus],
            orderId: "o".repeat(201),
            userId: "u".repeat(201),
          }),
        ),
      ).toEqual(["page_size", "page_token", "statuses[1]", "statuses[2]", "order_id", "user_id"]);
      const caller = await bearer(uuidv7());
      expect(await violatedFieldsOf(client.getPayment({ lookup: { case: "id", value: "not-a-uuid" } }, caller))).toEqual(["id"]);
      expect(await violatedFieldsOf(client.getPayment({}, caller))).toEqual(["lookup"]);
      expect(await violatedFieldsOf(client.tokenizeCard({ cardNumber: "4242 4242 4242 4241" }))).toEqual(["card_number"]);
    });

    it("a good request still passes: Charge, Refund with a reason of 200 characters, ListPayments with every filter", async () => {
      const orderId = uuidv7();
      const userId = uuidv7();
      await told(orderPlaced(orderId, userId, "pm_test_ok", 1));
      const { payment } = await client.charge({
        orderId: ` ${orderId} `,
        userId,
        amountCents: 1,
        currency: "EUR",
        paymentMethod: "pm_test_ok",
      });
      expect(payment).toMatchObject({ orderId, userId, status: PaymentStatus.SUCCEEDED });
      const reason = "r".repeat(200);
      expect((await client.refund({ orderId, reason: `${reason} ` })).payment).toMatchObject({
        status: PaymentStatus.REFUNDED,
        refundReason: reason,
      });
      const list = await client.listPayments({ pageSize: 500, statuses: [PaymentStatus.REFUNDED], orderId, userId });
      expect(list.items.map((p) => p.id)).toEqual([payment?.id]);
      expect((await client.tokenizeCard({ cardNumber: "4242-4242-4242-4242" })).paymentMethod).toBe("pm_test_ok");
    });

    it("a crash between the provider's charge and our commit does not charge again", async () => {
      const orderId = uuidv7();
      const db = t.kysely();
      // What a crash leaves behind: the provider charged under the order's key, our row is PENDING.
      await insertPending(db, orderId, new Date());
      await db
        .insertInto("provider_ledger")
        .values({
          idempotency_key: `charge:${orderId}`,
          calls: 1,
          outcome: JSON.stringify({ kind: "succeeded", chargeId: "ch_before_crash" }),
        })
        .execute();
      const restarted = createPaymentServer({
        config: readPaymentConfig({ ...testTlsEnv(), DB_SCHEMA: t.schema }),
        db: t.db,
        logger,
        host: "127.0.0.1",
        port: 0,
        verifier,
      });
      await restarted.start();
      try {
        await vi.waitFor(async () => expect((await paymentsOf(orderId))[0]?.status).toBe("SUCCEEDED"), { timeout: 10_000, interval: 10 });
      } finally {
        await restarted.stop();
      }
      expect((await paymentsOf(orderId))[0]).toMatchObject({ provider_charge_id: "ch_before_crash" });
      const outbox = await db.selectFrom("outbox").select("type").where("key", "=", orderId).execute();
      expect(outbox.map((r) => r.type)).toEqual([PaymentSucceededSchema.typeName]);
      // A late Charge for the order answers from the record.
      const again = await client.charge({
        orderId,
        userId: (await paymentsOf(orderId))[0]!.user_id,
        amountCents: 700,
        currency: "EUR",
        paymentMethod: "",
      });
      expect(again.payment?.status).toBe(PaymentStatus.SUCCEEDED);
    });

    /** A payment service on `schema` (migrated on start), without a bus. */
    const startReplica = async (schema: string, provider?: PaymentProvider) => {
      const replica = createPaymentServer({
        config: readPaymentConfig({ ...testTlsEnv(), DB_SCHEMA: schema }),
        db: t.db,
        logger,
        host: "127.0.0.1",
        port: 0,
        verifier,
        chargeRetry,
        ...(provider ? { provider } : {}),
      });
      await replica.start();
      return replica;
    };
    const ledgerOf = async (db: Kysely<PaymentDb>, orderId: string) => {
      const row = await db
        .selectFrom("provider_ledger")
        .select(["calls", "outcome"])
        .where("idempotency_key", "=", `charge:${orderId}`)
        .executeTakeFirst();
      return row && { calls: row.calls as number, outcome: row.outcome === null ? undefined : JSON.parse(row.outcome as string) };
    };
    const statusIn = async (db: Kysely<PaymentDb>, orderId: string) =>
      (await db.selectFrom("payments").select("status").where("order_id", "=", orderId).executeTakeFirst())?.status;
    const chargeIdOf = async (db: Kysely<PaymentDb>, orderId: string) =>
      (await db.selectFrom("payments").select("provider_charge_id").where("order_id", "=", orderId).executeTakeFirst())?.provider_charge_id;
    const outboxTypes = async (db: Kysely<PaymentDb>, orderId: string) =>
      (await db.selectFrom("outbox").select("type").where("key", "=", orderId).orderBy("seq").execute()).map((r) => r.type);

    it("a crash after the PENDING payment committed, before the provider was called: the next start charges it once", async () => {
      const schema = await t.createSchema();
      await (await startReplica(schema)).stop();
      const db = t.db.kysely<PaymentDb>(schema);
      const orderId = uuidv7();
      await insertPending(db, orderId, new Date());
      const restarted = await startReplica(schema);
      try {
        await vi.waitFor(async () => expect(await statusIn(db, orderId)).toBe("SUCCEEDED"), { timeout: 10_000, interval: 10 });
      } finally {
        await restarted.stop();
      }
      const ledger = await ledgerOf(db, orderId);
      expect(ledger).toMatchObject({ calls: 1, outcome: { kind: "succeeded" } });
      expect(await chargeIdOf(db, orderId)).toBe(ledger?.outcome.chargeId);
      expect(await outboxTypes(db, orderId)).toEqual([PaymentSucceededSchema.typeName]);
    });

    it("a start-up settle cut off after the provider charged leaves the others settled; the next start finishes it with that charge", async () => {
      const schema = await t.createSchema();
      await (await startReplica(schema)).stop();
      const db = t.db.kysely<PaymentDb>(schema);
      const [cutOff, next] = [uuidv7(), uuidv7()];
      await insertPending(db, cutOff, new Date(Date.now() - 1_000));
      await insertPending(db, next, new Date());
      const provider = createFakeProvider({ ledger: createDbLedger(db) });
      // The provider charges the first order, and its answer never arrives (the connection drops).
      const dropsAnswer: PaymentProvider = {
        ...provider,
        async charge(input) {
          const outcome = await provider.charge(input);
          if (input.idempotencyKey === `charge:${cutOff}`) throw new Error("socket hang up");
          return outcome;
        },
      };
      const first = await startReplica(schema, dropsAnswer);
      try {
        await vi.waitFor(async () => expect(await statusIn(db, next)).toBe("SUCCEEDED"), { timeout: 10_000, interval: 10 });
      } finally {
        await first.stop();
      }
      expect(await statusIn(db, cutOff)).toBe("PENDING");
      const charged = await ledgerOf(db, cutOff);
      expect(charged?.outcome).toMatchObject({ kind: "succeeded" });

      const second = await startReplica(schema);
      try {
        await vi.waitFor(async () => expect(await statusIn(db, cutOff)).toBe("SUCCEEDED"), { timeout: 10_000, interval: 10 });
      } finally {
        await second.stop();
      }
      expect(await ledgerOf(db, cutOff)).toEqual({ calls: 2, outcome: charged?.outcome });
      expect(await chargeIdOf(db, cutOff)).toBe(charged?.outcome.chargeId);
      for (const orderId of [cutOff, next]) expect(await outboxTypes(db, orderId)).toEqual([PaymentSucceededSchema.typeName]);
    });

    it("a charge given up while another call's charge of the order is on its way to the provider never leaves the shopper charged for a FAILED payment", async () => {
      const schema = await t.createSchema();
      const db = t.db.kysely<PaymentDb>(schema);
      // Two replicas on one database and provider: A's charges all fail for now, B's is held on its way there.
      const fast = createFakeProvider({ ledger: createDbLedger(db) });
      let arrive!: () => void;
      const onItsWay = new Promise<void>((resolve) => {
        arrive = resolve;
      });
      let sent!: () => void;
      const sending = new Promise<void>((resolve) => {
        sent = resolve;
      });
      const held: PaymentProvider = {
        ...fast,
        async charge(input) {
          sent();
          await onItsWay;
          return fast.charge(input);
        },
      };
      const a = await startReplica(schema, createFakeProvider({ ledger: createDbLedger(db), failureRate: 1 }));
      const b = await startReplica(schema, held);
      const clientA = createTestClient(PaymentService, `127.0.0.1:${a.port}`);
      const clientB = createTestClient(PaymentService, `127.0.0.1:${b.port}`);
      try {
        const orderId = uuidv7();
        const req = { orderId, userId: uuidv7(), amountCents: 800, currency: "EUR", paymentMethod: "pm_test_ok" };
        await insertPlaced(db, req);
        const answerB = clientB.charge(req);
        await sending;
        const answerA = await clientA.charge(req);
        expect(answerA.payment).toMatchObject({ status: PaymentStatus.FAILED, failureReason: "provider_unavailable" });
        arrive();
        expect((await answerB).payment).toMatchObject({ status: PaymentStatus.FAILED, failureReason: "provider_unavailable" });
        // The key was closed before the payment was recorded FAILED: the late call charged nothing.
        expect((await ledgerOf(db, orderId))?.outcome).toEqual({ kind: "cancelled" });
        expect(await outboxTypes(db, orderId)).toEqual([PaymentFailedSchema.typeName]);
      } finally {
        closeClient(clientA);
        closeClient(clientB);
        await a.stop();
        await b.stop();
      }
    });

    it("Refund: only a succeeded payment, idempotent, emits PaymentRefunded once", async () => {
      const orderId = uuidv7();
      const userId = uuidv7();
      expect(await codeOf(client.refund({ orderId, reason: "order_cancelled" }))).toBe(Code.NotFound);
      const declined = uuidv7();
      await told(orderPlaced(orderId, userId, "", 900), orderPlaced(declined, userId, "pm_test_declined", 900));
      await client.charge({ orderId, userId, amountCents: 900, currency: "EUR", paymentMethod: "" });
      const first = await client.refund({ orderId, reason: "order_cancelled" });
      const second = await client.refund({ orderId, reason: "order_cancelled" });
      expect(first.payment).toMatchObject({ status: PaymentStatus.REFUNDED, refundReason: "order_cancelled" });
      expect(second.payment?.updatedAt).toEqual(first.payment?.updatedAt);
      await vi.waitFor(() => expect(eventsOf(orderId).length).toBe(2), { timeout: 10_000, interval: 10 });
      await bus.drain();
      expect(eventsOf(orderId).map((e) => e.type)).toEqual([PaymentSucceededSchema.typeName, PaymentRefundedSchema.typeName]);
      expect(registry.decodeAs(PaymentRefundedSchema, eventsOf(orderId)[1]!)).toMatchObject({
        orderId,
        userId,
        amountCents: 900,
        reason: "order_cancelled",
      });

      await client.charge({ orderId: declined, userId, amountCents: 900, currency: "EUR", paymentMethod: "pm_test_declined" });
      expect(await codeOf(client.refund({ orderId: declined, reason: "x" }))).toBe(Code.FailedPrecondition);
    });

    it("OrderRefundRequested of amount 0 (a cancelled order's charge) refunds all that is left, once; an all-refunded payment is left as it is", async () => {
      const orderId = uuidv7();
      const userId = uuidv7();
      await bus.publish([orderPlaced(orderId, userId), stockReserved(orderId)]);
      await settled(orderId);
      const refundRest = (refundId: string) =>
        createEnvelope(
          OrderRefundRequestedSchema,
          create(OrderRefundRequestedSchema, { orderId, userId, refundId, amountCents: 0, currency: "EUR", reason: "order_cancelled" }),
          { source: "order", key: orderId },
        );
      await bus.publish([refundRest("cancelled")]);
      await vi.waitFor(() => expect(eventsOf(orderId)).toHaveLength(2), { timeout: 10_000, interval: 10 });
      expect(registry.decodeAs(PaymentRefundedSchema, eventsOf(orderId)[1]!)).toMatchObject({ refundId: "cancelled", amountCents: 1999 });

      await bus.publish([refundRest("cancelled"), refundRest("cancelled-again")]);
      await bus.drain();
      expect(eventsOf(orderId).map((e) => e.type)).toEqual([PaymentSucceededSchema.typeName, PaymentRefundedSchema.typeName]);
      expect(await paymentsOf(orderId)).toMatchObject([{ status: "REFUNDED", refunded_cents: 1999 }]);
      expect(await t.kysely().selectFrom("dead_letters").select("event_id").where("key", "=", orderId).execute()).toEqual([]);
    });

    it("GetPayment: the owner sees it by id or order id; another user gets NOT_FOUND; no token is UNAUTHENTICATED", async () => {
      const orderId = uuidv7();
      const owner = uuidv7();
      await told(orderPlaced(orderId, owner, "", 1200));
      const { payment } = await client.charge({ orderId, userId: owner, amountCents: 1200, currency: "EUR", paymentMethod: "" });
      const byId = await client.getPayment({ lookup: { case: "id", value: payment!.id } }, await bearer(owner));
      expect(byId.payment?.orderId).toBe(orderId);
      const other = await bearer(uuidv7());
      expect(await codeOf(client.getPayment({ lookup: { case: "id", value: payment!.id } }, other))).toBe(Code.NotFound);
      expect(await codeOf(client.getPayment({ lookup: { case: "orderId", value: orderId } }, other))).toBe(Code.NotFound);
      expect(await codeOf(client.getPayment({ lookup: { case: "orderId", value: orderId } }))).toBe(Code.Unauthenticated);
      // Same key id, another key.
      const forged = await (await createTestTokenIssuer()).token(owner);
      expect(
        await codeOf(
          client.getPayment({ lookup: { case: "orderId", value: orderId } }, { metadata: { authorization: `Bearer ${forged}` } }),
        ),
      ).toBe(Code.Unauthenticated);
    });

    it("ListPayments pages oldest first and filters by status and user", async () => {
      const userId = uuidv7();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const orderId = uuidv7();
        await told(orderPlaced(orderId, userId, i === 1 ? "pm_test_declined" : "", 100 + i));
        const res = await client.charge({
          orderId,
          userId,
          amountCents: 100 + i,
          currency: "EUR",
          paymentMethod: i === 1 ? "pm_test_declined" : "",
        });
        ids.push(res.payment!.id);
      }
      const page1 = await client.listPayments({ userId, pageSize: 2 });
      const page2 = await client.listPayments({ userId, pageSize: 2, pageToken: page1.nextPageToken });
      expect([...page1.items, ...page2.items].map((p) => p.id)).toEqual(ids);
      expect(page2.nextPageToken).toBe("");
      const failed = await client.listPayments({ userId, statuses: [PaymentStatus.FAILED] });
      expect(failed.items.map((p) => p.id)).toEqual([ids[1]]);
      expect(await codeOf(client.listPayments({ pageSize: 501 }))).toBe(Code.InvalidArgument);
      expect(await codeOf(client.listPayments({ pageToken: "garbage" }))).toBe(Code.InvalidArgument);
    });
  });
});
