import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  closeClient,
  type createClient,
  createEnvelope,
  createInProcessBus,
  createLogger,
  type Envelope,
  type InProcessBus,
  uuidv7,
} from "@shopmesh/platform";
import {
  createTestClient,
  createTestTokenIssuer,
  forEachBackend,
  type TestDatabase,
  type TestTokenIssuer,
  useTestDatabase,
  violatedFieldsOf,
  testTlsEnv,
} from "@shopmesh/platform/testing";
import { UserRegisteredSchema } from "@shopmesh/proto/shop/auth/v1/events_pb.js";
import { DeliveryStatus, NotificationKind, NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import { OrderCancelledSchema, OrderPaidSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNotificationConfig } from "./config.js";
import type { NotificationDb } from "./db/tables.js";
import { createNotificationServer, type NotificationServer } from "./index.js";

/**
 * Notification through its public contract: events on an in-process bus in, ListNotifications
 * over gRPC out, with real ES256 access tokens checked against a static JWKS.
 */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

const bearer = (token: string) => ({ metadata: { authorization: `Bearer ${token}` } });

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

const userRegistered = (userId: string, email: string, name: string): Envelope =>
  createEnvelope(UserRegisteredSchema, create(UserRegisteredSchema, { userId, email, name, registeredAt: timestampNow() }), {
    source: "auth",
    key: userId,
  });

const orderPaid = (userId: string, orderId: string): Envelope =>
  createEnvelope(
    OrderPaidSchema,
    create(OrderPaidSchema, { orderId, userId, totalCents: 4_200, currency: "EUR", paymentId: randomUUID(), paidAt: timestampNow() }),
    { source: "order", key: orderId },
  );

const orderCancelled = (userId: string, orderId: string, reason: string): Envelope =>
  createEnvelope(
    OrderCancelledSchema,
    create(OrderCancelledSchema, { orderId, userId, totalCents: 1_000, currency: "EUR", reason, cancelledAt: timestampNow() }),
    { source: "order", key: orderId },
  );

let seq = 0;
const uniqueEmail = () => `user${Date.now()}x${seq++}@example.com`;

forEachBackend((backend) => {
  describe(`notification service (${backend.name})`, () => {
    const t: TestDatabase = useTestDatabase(backend);
    let keys: TestTokenIssuer;
    let bus: InProcessBus;
    let service: NotificationServer;
    let client: ReturnType<typeof createClient<typeof NotificationService>>;

    const start = async (schema: string, env: Record<string, string>, b: InProcessBus) => {
      const s = createNotificationServer({
        config: readNotificationConfig({ ...testTlsEnv(), DB_SCHEMA: schema, ...env }),
        db: t.db,
        logger,
        host: "127.0.0.1",
        port: 0,
        bus: b,
        verifier: keys.verifier,
      });
      await s.start();
      return s;
    };

    beforeAll(async () => {
      keys = await createTestTokenIssuer();
      bus = createInProcessBus({ logger });
      service = await start(t.schema, {}, bus);
      client = createTestClient(NotificationService, `127.0.0.1:${service.port}`);
    });

    afterAll(async () => {
      if (client) closeClient(client);
      await service?.stop();
      await bus?.close();
    });

    const publish = async (...events: Envelope[]) => {
      await bus.publish(events);
      await bus.drain();
    };

    it("sends a captured welcome to the registered address, listed for that user only", async () => {
      const userId = randomUUID();
      const email = uniqueEmail();
      await publish(userRegistered(userId, email, "Ada"));

      const res = await client.listNotifications({}, bearer(await keys.token(userId)));
      expect(res.items).toHaveLength(1);
      expect(res.items[0]).toMatchObject({
        userId,
        recipient: email,
        kind: NotificationKind.WELCOME,
        status: DeliveryStatus.CAPTURED,
        orderId: "",
        failureReason: "",
      });
      expect(res.items[0]!.subject).toContain("Welcome");
      expect(res.items[0]!.body).toContain("Ada");
      expect(res.items[0]!.deliveredAt).toBeDefined();
      expect(res.nextPageToken).toBe("");

      const other = await client.listNotifications({}, bearer(await keys.token(randomUUID())));
      expect(other.items).toHaveLength(0);
    });

    it("notifies OrderPaid and OrderCancelled with their kind and order id, newest first", async () => {
      const userId = randomUUID();
      const paidId = randomUUID();
      const cancelledId = randomUUID();
      await publish(userRegistered(userId, uniqueEmail(), "Grace"));
      await publish(orderPaid(userId, paidId));
      await publish(orderCancelled(userId, cancelledId, "out_of_stock"));

      const res = await client.listNotifications({}, bearer(await keys.token(userId)));
      expect(res.items.map((n) => [n.kind, n.orderId, n.status])).toEqual([
        [NotificationKind.ORDER_CANCELLED, cancelledId, DeliveryStatus.CAPTURED],
        [NotificationKind.ORDER_PAID, paidId, DeliveryStatus.CAPTURED],
        [NotificationKind.WELCOME, "", DeliveryStatus.CAPTURED],
      ]);
      expect(res.items[0]!.body).toContain("out of stock");
      expect(res.items[1]!.body).toContain("42.00 EUR");

      // Another user's token sees none of them.
      const other = await client.listNotifications({}, bearer(await keys.token(randomUUID())));
      expect(other.items).toHaveLength(0);
    });

    it("records nothing more for a redelivered event", async () => {
      const userId = randomUUID();
      const welcome = userRegistered(userId, uniqueEmail(), "Linus");
      const paid = orderPaid(userId, randomUUID());
      await publish(welcome, paid);
      await publish(welcome, paid);
      await publish(paid);

      const res = await client.listNotifications({}, bearer(await keys.token(userId)));
      expect(res.items).toHaveLength(2);
      expect(new Set(res.items.map((n) => n.sourceEventId))).toEqual(new Set([welcome.id, paid.id]));
    });

    it("stores an order notification for an unknown recipient as FAILED", async () => {
      const userId = randomUUID();
      await publish(orderPaid(userId, randomUUID()));
      const res = await client.listNotifications({}, bearer(await keys.token(userId)));
      expect(res.items).toHaveLength(1);
      expect(res.items[0]).toMatchObject({ status: DeliveryStatus.FAILED, failureReason: "recipient unknown", recipient: "" });
    });

    it("pages with page_size and page_token", async () => {
      const userId = randomUUID();
      await publish(userRegistered(userId, uniqueEmail(), "Pat"));
      for (let i = 0; i < 4; i++) await publish(orderPaid(userId, `order-${i}`));
      const token = bearer(await keys.token(userId));
      const first = await client.listNotifications({ pageSize: 2 }, token);
      const second = await client.listNotifications({ pageSize: 2, pageToken: first.nextPageToken }, token);
      const third = await client.listNotifications({ pageSize: 2, pageToken: second.nextPageToken }, token);
      expect([...first.items, ...second.items, ...third.items].map((n) => n.orderId)).toEqual([
        "order-3",
        "order-2",
        "order-1",
        "order-0",
        "",
      ]);
      expect(third.nextPageToken).toBe("");
      expect(await codeOf(client.listNotifications({ pageSize: 101 }, token))).toBe(Code.InvalidArgument);
      expect(await codeOf(client.listNotifications({ pageToken: "nope!" }, token))).toBe(Code.InvalidArgument);
    });

    it("names every bad field of ListNotifications at once, one field violation each; a good request still pages", async () => {
      const userId = randomUUID();
      await publish(userRegistered(userId, uniqueEmail(), "Kim"));
      const token = bearer(await keys.token(userId));
      expect(await violatedFieldsOf(client.listNotifications({ pageSize: 101, pageToken: "nope!" }, token))).toEqual([
        "page_size",
        "page_token",
      ]);
      expect((await client.listNotifications({ pageSize: 100 }, token)).items.map((n) => n.kind)).toEqual([NotificationKind.WELCOME]);
    });

    it("lists an order's notifications to an operator, newest first, whoever they were for; INVALID_ARGUMENT without an order id", async () => {
      const userId = randomUUID();
      const orderId = randomUUID();
      await publish(userRegistered(userId, uniqueEmail(), "Noor"));
      await publish(orderPaid(userId, orderId));
      await publish(orderCancelled(userId, orderId, "operator"));
      await publish(orderPaid(userId, randomUUID()));

      const res = await client.listOrderNotifications({ orderId }, await keys.asOperator());
      expect(res.items.map((n) => [n.kind, n.orderId, n.userId])).toEqual([
        [NotificationKind.ORDER_CANCELLED, orderId, userId],
        [NotificationKind.ORDER_PAID, orderId, userId],
      ]);
      expect((await client.listOrderNotifications({ orderId: randomUUID() }, await keys.asOperator())).items).toEqual([]);
      expect(await violatedFieldsOf(client.listOrderNotifications({ orderId: "" }, await keys.asOperator()))).toEqual(["order_id"]);
      expect(await violatedFieldsOf(client.listOrderNotifications({ orderId: "x".repeat(129) }, await keys.asOperator()))).toEqual([
        "order_id",
      ]);
    });

    it("refuses calls without a valid token", async () => {
      expect(await codeOf(client.listNotifications({}))).toBe(Code.Unauthenticated);
      const stranger = await createTestTokenIssuer();
      expect(await codeOf(client.listNotifications({}, bearer(await stranger.token(randomUUID()))))).toBe(Code.Unauthenticated);
    });

    it("delivers at start what a previous run left PENDING (a crash between commit and send)", async () => {
      const schema = await t.createSchema();
      const first = await start(schema, {}, createInProcessBus({ logger }));
      await first.stop();
      const userId = randomUUID();
      await t.db
        .kysely<NotificationDb>(schema)
        .insertInto("notifications")
        .values({
          id: uuidv7(),
          user_id: userId,
          channel: "email",
          recipient: uniqueEmail(),
          subject: "s",
          body: "b",
          kind: "welcome",
          source_event_id: randomUUID(),
          order_id: null,
          status: "pending",
          failure_reason: null,
          delivered_at: null,
        })
        .execute();
      const second = await start(schema, {}, createInProcessBus({ logger }));
      try {
        const c = createTestClient(NotificationService, `127.0.0.1:${second.port}`);
        const res = await c.listNotifications({}, bearer(await keys.token(userId)));
        closeClient(c);
        expect(res.items.map((n) => n.status)).toEqual([DeliveryStatus.CAPTURED]);
      } finally {
        await second.stop();
      }
    });

    it("marks FAILED when the SMTP server is unreachable, without logging the address", async () => {
      const lines: string[] = [];
      const spy = createLogger({ level: "debug", destination: { write: (line: string) => void lines.push(line) } });
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const b = createInProcessBus({ logger });
      const s = createNotificationServer({
        config: readNotificationConfig({ ...testTlsEnv(), DB_SCHEMA: await t.createSchema(), SMTP_URL: `smtp://127.0.0.1:${port}` }),
        db: t.db,
        logger: spy,
        host: "127.0.0.1",
        port: 0,
        bus: b,
        verifier: keys.verifier,
      });
      await s.start();
      try {
        const userId = randomUUID();
        const email = uniqueEmail();
        await b.publish([userRegistered(userId, email, "Ada")]);
        await b.drain();
        const page = await s.notifications.list(userId, 10, undefined);
        expect(page.items.map((n) => n.status)).toEqual(["failed"]);
        expect(page.items[0]!.failureReason).not.toContain(email);
        expect(lines.some((l) => l.includes("email delivery failed"))).toBe(true);
        expect(lines.join("\n")).not.toContain(email);
      } finally {
        await s.stop();
        await b.close();
      }
    });

    describe("with SMTP_URL", () => {
      const received: Array<{ to: string[]; data: string }> = [];
      /** The next message to an address is taken in full, then answered only once `released` resolves. */
      const holds = new Map<string, { reached: () => void; released: Promise<void> }>();
      let smtpEnv: Record<string, string>;
      let smtpSchema: string;
      let smtp: SMTPServer;
      let smtpBus: InProcessBus;
      let smtpService: NotificationServer;
      let smtpClient: ReturnType<typeof createClient<typeof NotificationService>>;

      beforeAll(async () => {
        smtp = new SMTPServer({
          authOptional: true,
          disabledCommands: ["AUTH", "STARTTLS"],
          logger: false,
          onData(stream, session, callback) {
            const chunks: Buffer[] = [];
            stream.on("data", (c: Buffer) => chunks.push(c));
            stream.on("end", () => {
              const to = session.envelope.rcptTo.map((r) => r.address);
              received.push({ to, data: Buffer.concat(chunks).toString("utf8") });
              const hold = to.map((address) => holds.get(address)).find(Boolean);
              if (!hold) return callback();
              holds.delete(to.find((address) => holds.has(address))!);
              hold.reached();
              void hold.released.then(() => callback());
            });
          },
        });
        await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
        const { port } = smtp.server.address() as AddressInfo;
        smtpBus = createInProcessBus({ logger });
        smtpEnv = { SMTP_URL: `smtp://127.0.0.1:${port}` };
        smtpSchema = await t.createSchema();
        smtpService = await start(smtpSchema, smtpEnv, smtpBus);
        smtpClient = createTestClient(NotificationService, `127.0.0.1:${smtpService.port}`);
      });

      afterAll(async () => {
        if (smtpClient) closeClient(smtpClient);
        await smtpService?.stop();
        await smtpBus?.close();
        await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
      });

      it("delivers the email to the SMTP server once, whatever is redelivered", async () => {
        const userId = randomUUID();
        const email = uniqueEmail();
        const welcome = userRegistered(userId, email, "Ada");
        await smtpBus.publish([welcome]);
        await smtpBus.drain();
        await smtpBus.publish([welcome]);
        await smtpBus.drain();

        const mine = received.filter((m) => m.to.includes(email));
        expect(mine).toHaveLength(1);
        expect(mine[0]!.data).toContain("Subject: Welcome to shopmesh");
        expect(mine[0]!.data).toContain("no-reply@shopmesh.local");

        const res = await smtpClient.listNotifications({}, bearer(await keys.token(userId)));
        expect(res.items).toHaveLength(1);
        expect(res.items[0]).toMatchObject({ status: DeliveryStatus.SENT, recipient: email });
        expect(res.items[0]!.deliveredAt).toBeDefined();
      });

      it("an email is recorded SENT only after the SMTP server accepted it; one a crash left PENDING then is sent again at start, never lost", async () => {
        const userId = randomUUID();
        const email = uniqueEmail();
        let reached!: () => void;
        const taken = new Promise<void>((resolve) => {
          reached = resolve;
        });
        let release!: () => void;
        holds.set(email, { reached, released: new Promise<void>((resolve) => (release = resolve)) });
        const handled = smtpBus.publish([userRegistered(userId, email, "Ada")]).then(() => smtpBus.drain());
        const token = bearer(await keys.token(userId));
        try {
          await taken;
          // The server has the message and has not answered: still PENDING, which is what a
          // SIGKILL at this moment leaves behind.
          const during = await smtpClient.listNotifications({}, token);
          expect(during.items.map((n) => n.status)).toEqual([DeliveryStatus.PENDING]);

          const restartBus = createInProcessBus({ logger });
          const restarted = await start(smtpSchema, smtpEnv, restartBus);
          try {
            expect(received.filter((m) => m.to.includes(email))).toHaveLength(2);
            const after = await smtpClient.listNotifications({}, token);
            expect(after.items.map((n) => n.status)).toEqual([DeliveryStatus.SENT]);
          } finally {
            await restarted.stop();
            await restartBus.close();
          }
        } finally {
          release();
          await handled;
        }
        const res = await smtpClient.listNotifications({}, token);
        expect(res.items).toHaveLength(1);
        expect(res.items[0]).toMatchObject({ status: DeliveryStatus.SENT, recipient: email });
      });
    });
  });
});
