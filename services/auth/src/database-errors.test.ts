import { type Client, Code, closeClient, createClient, createInProcessBus, createLogger } from "@shopmesh/platform";
import { codeOf, databaseBackend, useFaultyDatabase, useTestDatabase, whileLocked } from "@shopmesh/platform/testing";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAuthConfig } from "./config.js";
import { type AuthServer, createAuthServer } from "./index.js";

/** Auth's answers over gRPC when its database fails under it (see useFaultyDatabase). */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

describe("auth service over a failing database", () => {
  const t = useTestDatabase(databaseBackend);
  const faulty = useFaultyDatabase();
  const bus = createInProcessBus({ logger });
  let service: AuthServer;
  let client: Client<typeof AuthService>;

  beforeAll(async () => {
    service = createAuthServer({
      config: readAuthConfig({ DB_SCHEMA: t.schema, AUTH_SCRYPT_LOG2_N: "10" }),
      db: faulty.db,
      logger,
      host: "127.0.0.1",
      port: 0,
      bus,
    });
    await service.start();
    client = createClient(AuthService, `127.0.0.1:${service.port}`);
  });

  afterAll(async () => {
    if (client) closeClient(client);
    await service?.stop();
    await bus.close();
  });

  const login = () => client.login({ email: "nobody@example.com", password: "correct horse battery staple" });

  it("answers ABORTED when its query loses a lock conflict", async () => {
    expect(await whileLocked(t.kysely(), "users", () => codeOf(login()))).toBe(Code.Aborted);
  });

  it("answers UNAVAILABLE when the database cannot be reached", async () => {
    await faulty.goDown();
    expect(await codeOf(login())).toBe(Code.Unavailable);
  });
});
