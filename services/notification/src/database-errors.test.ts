import { type Client, Code, closeClient, createClient, createInProcessBus, createLogger, uuidv7 } from "@shopmesh/platform";
import {
  codeOf,
  createTestTokenIssuer,
  databaseBackend,
  useFaultyDatabase,
  useTestDatabase,
  whileLocked,
} from "@shopmesh/platform/testing";
import { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNotificationConfig } from "./config.js";
import { createNotificationServer, type NotificationServer } from "./index.js";

/** Notification's answers over gRPC when its database fails under it (see useFaultyDatabase). */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const issuer = await createTestTokenIssuer();

describe("notification service over a failing database", () => {
  const t = useTestDatabase(databaseBackend);
  const faulty = useFaultyDatabase();
  const bus = createInProcessBus({ logger });
  let service: NotificationServer;
  let client: Client<typeof NotificationService>;

  beforeAll(async () => {
    service = createNotificationServer({
      config: readNotificationConfig({ DB_SCHEMA: t.schema }),
      db: faulty.db,
      logger,
      host: "127.0.0.1",
      port: 0,
      bus,
      verifier: issuer.verifier,
    });
    await service.start();
    client = createClient(NotificationService, `127.0.0.1:${service.port}`);
  });

  afterAll(async () => {
    if (client) closeClient(client);
    await service?.stop();
    await bus.close();
  });

  it("answers ABORTED when its query loses a lock conflict", async () => {
    const opts = await issuer.as(uuidv7());
    expect(await whileLocked(t.kysely(), "notifications", () => codeOf(client.listNotifications({}, opts)))).toBe(Code.Aborted);
  });

  it("answers UNAVAILABLE when the database cannot be reached", async () => {
    const opts = await issuer.as(uuidv7());
    await faulty.goDown();
    expect(await codeOf(client.listNotifications({}, opts))).toBe(Code.Unavailable);
  });
});
