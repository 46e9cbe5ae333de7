import { type Client, Code, closeClient, createClient, createInProcessBus, createLogger, uuidv7 } from "@shopmesh/platform";
import {
  codeOf,
  createTestTokenIssuer,
  databaseBackend,
  useFaultyDatabase,
  useTestDatabase,
  whileLocked,
} from "@shopmesh/platform/testing";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPaymentConfig } from "./config.js";
import { createDbLedger } from "./db/provider-ledger.repository.js";
import { createPaymentServer, type PaymentServer } from "./index.js";

/** Payment's answers over gRPC when its database fails under it (see useFaultyDatabase). */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const issuer = await createTestTokenIssuer();

describe("payment service over a failing database", () => {
  const t = useTestDatabase(databaseBackend);
  const faulty = useFaultyDatabase();
  const bus = createInProcessBus({ logger });
  let service: PaymentServer;
  let client: Client<typeof PaymentService>;

  beforeAll(async () => {
    service = createPaymentServer({
      config: readPaymentConfig({ DB_SCHEMA: t.schema }),
      db: faulty.db,
      logger,
      host: "127.0.0.1",
      port: 0,
      bus,
      verifier: issuer.verifier,
    });
    await service.start();
    client = createClient(PaymentService, `127.0.0.1:${service.port}`);
  });

  afterAll(async () => {
    if (client) closeClient(client);
    await service?.stop();
    await bus.close();
  });

  const getPayment = async () => client.getPayment({ lookup: { case: "id", value: uuidv7() } }, await issuer.as(uuidv7()));

  it("answers ABORTED when its query loses a lock conflict", async () => {
    expect(await whileLocked(t.kysely(), "payments", async () => codeOf(getPayment()))).toBe(Code.Aborted);
  });

  it("the provider's ledger answers ABORTED when its statement loses a lock conflict", async () => {
    const ledger = createDbLedger(faulty.db.kysely(t.schema));
    expect(await whileLocked(t.kysely(), "provider_ledger", async () => codeOf(ledger.begin(`charge:${uuidv7()}`)))).toBe(Code.Aborted);
  });

  it("answers UNAVAILABLE when the database cannot be reached", async () => {
    await faulty.goDown();
    expect(await codeOf(getPayment())).toBe(Code.Unavailable);
  });
});
