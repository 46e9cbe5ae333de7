import { connect, createServer, type Server, type Socket } from "node:net";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Database, openDatabase } from "../db/database.js";
import { closeClient, createClient } from "../grpc/client.js";
import { serviceRegistration } from "../grpc/service.js";
import { createLogger } from "../logger.js";
import { createServiceHost, type ServiceHost } from "../service-host.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { postgresTestUrl } from "../testing/database-backends.js";
import { type AdminServer, createAdminServer } from "./admin-server.js";

const logger = createLogger({ level: "silent" });

/** A TCP proxy to `target` that can be cut (connections dropped, new ones refused) and restored on the same port. */
async function cuttableProxy(target: { host: string; port: number }) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = 0;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const remote = connect(target.port, target.host);
        for (const sock of [client, remote]) {
          sockets.add(sock);
          sock.on("close", () => sockets.delete(sock));
          sock.on("error", () => sock.destroy());
        }
        client.pipe(remote).pipe(client);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const down = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  };
  await up();
  return { port: () => port, up, down };
}

describe("readiness follows the database", () => {
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  let db: Database;
  let host: ServiceHost;
  let admin: AdminServer;
  let health: ReturnType<typeof createClient<typeof Health>>;
  const schema = `t_ready_${process.pid}`;

  beforeAll(async () => {
    const url = new URL(postgresTestUrl());
    proxy = await cuttableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port());
    db = await openDatabase({ url: url.toString(), poolSize: 2 }, logger);
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db.kysely("public"));
    host = createServiceHost({
      name: "catalog-ready",
      logger,
      db: db.kysely(schema),
      schema,
      migrations: {},
      grpc: { host: "127.0.0.1", port: 0, shutdownGraceMs: 100 },
      build: () => ({ services: [serviceRegistration(CatalogService, catalogHandlers())] }),
      databaseProbeMs: 100,
    });
    await host.start();
    admin = createAdminServer({ host: "127.0.0.1", port: 0, logger });
    await admin.start();
    health = createClient(Health, `127.0.0.1:${host.port}`, { maxAttempts: 1 });
  });

  afterAll(async () => {
    if (health) closeClient(health);
    await admin?.stop();
    await host?.stop();
    await proxy?.up().catch(() => undefined);
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db.kysely("public")).catch(() => undefined);
    await db?.close();
    await proxy?.down();
  });

  const readyz = async () => (await fetch(`${admin.url}/readyz`)).status;
  const grpcHealth = async () => (await health.check({ service: CatalogService.typeName })).status;

  it("turns /readyz 503 and the service NOT_SERVING while the database is away, live all along, and back when it returns", async () => {
    expect(await readyz()).toBe(200);
    expect(await grpcHealth()).toBe(Status.SERVING);

    await proxy.down();
    await vi.waitFor(async () => expect(await readyz()).toBe(503), { timeout: 5_000, interval: 50 });
    const body = await (await fetch(`${admin.url}/readyz`)).json();
    expect(body).toMatchObject({ status: "unavailable", checks: { "catalog-ready/database": "failing" } });
    expect(await grpcHealth()).toBe(Status.NOT_SERVING);
    expect((await fetch(`${admin.url}/healthz`)).status).toBe(200);

    await proxy.up();
    await vi.waitFor(async () => expect(await readyz()).toBe(200), { timeout: 10_000, interval: 50 });
    expect(await grpcHealth()).toBe(Status.SERVING);
  });
});
