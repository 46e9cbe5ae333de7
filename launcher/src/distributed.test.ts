import { randomBytes } from "node:crypto";
import { demoCatalog } from "@shopmesh/catalog";
import { closeClient, createClient } from "@shopmesh/platform";
import { databaseBackends, describeWithKafka, useKafkaBroker } from "@shopmesh/platform/testing";
import { OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DistributedMesh, dropServiceDatabases, type ProcessExit, serviceNames, startDistributed } from "./distributed-mesh.js";
import { rest, Shopper } from "./shopper.js";

/**
 * Distributed mode end to end: every service and the edge as its own process, each service on
 * its own Postgres database, the events through a Kafka-protocol broker of this file's own
 * (librdkafka's mock), driven through the edge's REST routes.
 */

const DECLINED_CARD = "4000 0000 0000 0002";
const POSTGRES_URL = process.env.POSTGRES_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const postgres = databaseBackends().find((b) => b.name === "postgres");
// POSTGRES_URL names a server the test is told to use; otherwise the store suites' probe decides.
const skipReason = process.env.POSTGRES_URL ? undefined : postgres?.skipReason;
const failReason = process.env.POSTGRES_URL ? undefined : postgres?.failReason;

describeWithKafka("distributed mode", () => {
  describe.skipIf(skipReason !== undefined)(skipReason ? `on Postgres (skipped: ${skipReason})` : "on Postgres", () => {
    const kafka = useKafkaBroker();
    const prefix = `shopmesh_t${randomBytes(4).toString("hex")}`;
    /** Every line the processes wrote (warnings and errors: LOG_LEVEL is warn), shown when a test fails. */
    const output: string[] = [];
    const unexpectedExits: ProcessExit[] = [];
    const pids = new Set<number>();
    let mesh: DistributedMesh;
    let emails = 0;

    const signup = (name: string) => Shopper.signup(mesh.url, `${name}-${++emails}@example.com`);
    const stock = async (productId: string) => {
      const res = await rest<{ stock: number }>(mesh.url, "GET", `/api/products/${productId}`);
      expect(res.status).toBe(200);
      return res.body.stock;
    };
    const notePids = () => {
      for (const name of mesh.processes) {
        const pid = mesh.pid(name);
        if (pid !== undefined) pids.add(pid);
      }
    };

    beforeAll(async () => {
      if (failReason) throw new Error(failReason);
      const ports = Object.fromEntries(serviceNames.map((s) => [`${s.toUpperCase()}_PORT`, "0"]));
      mesh = await startDistributed(
        {
          ...process.env,
          ...ports,
          POSTGRES_URL,
          SHOPMESH_DB_PREFIX: prefix,
          KAFKA_BROKERS: kafka.brokers.join(","),
          EDGE_PORT: "0",
          LOG_LEVEL: "warn",
        },
        {
          output: (name, _stream, line) => {
            output.push(`${name} | ${line}`);
          },
          onUnexpectedExit: (exit) => unexpectedExits.push(exit),
          readyTimeoutMs: 90_000,
        },
      );
      notePids();
    }, 120_000);

    afterAll(async () => {
      try {
        if (mesh) {
          notePids();
          await mesh.stop();
        }
        // No process outlives the mesh.
        const alive = [...pids].filter((pid) => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        });
        expect(alive).toEqual([]);
      } finally {
        await dropServiceDatabases(POSTGRES_URL, prefix);
      }
    }, 60_000);

    beforeEach((ctx) => {
      const from = output.length;
      ctx.onTestFailed(() => {
        console.error(`process output during "${ctx.task.name}":\n${output.slice(from).slice(-200).join("\n")}`);
      });
    });

    it("runs each service as its own process on its own database", () => {
      expect(Object.keys(mesh.services)).toEqual([...serviceNames]);
      expect(Object.values(mesh.databases)).toEqual(serviceNames.map((s) => `${prefix}_${s}`));
      const running = mesh.processes.map((name) => mesh.pid(name));
      expect(new Set(running).size).toBe(serviceNames.length + 1);
      expect(running).not.toContain(process.pid);
      expect(mesh.url).toMatch(/^http:\/\/localhost:\d+$/);
    });

    it("signs up, checks out 2 units and sees the order paid, the email sent, the stock down by 2 and the cart empty", async () => {
      const shopper = await signup("ada");
      const list = await rest<{ items: Array<{ id: string; stock: number; price_cents: number }> }>(mesh.url, "GET", "/api/products");
      expect(list.status).toBe(200);
      const target = list.body.items[0];
      if (!target) throw new Error("no products listed");

      await shopper.addItem(target.id, 2);
      const placed = await shopper.checkout();
      expect(placed).toEqual({ order_id: expect.any(String), status: "pending" });

      const order = await shopper.waitFinal(placed.order_id, { timeoutMs: 30_000, intervalMs: 20 });
      expect(order).toMatchObject({ id: placed.order_id, status: "paid", cancel_reason: "", total_cents: target.price_cents * 2 });
      expect(order.history.map((h) => h.to_status)).toEqual(["pending", "stock_reserved", "paid"]);
      expect(await stock(target.id)).toBe(target.stock - 2);
      expect((await shopper.cart()).items).toEqual([]);
      await expect
        .poll(async () => (await shopper.notifications()).map((n) => n.kind).sort(), { timeout: 15_000, interval: 50 })
        .toEqual(["order_paid", "welcome"]);
    });

    it("cancels an order paid with a declined card (payment_declined) and gives the stock back", async () => {
      const shopper = await signup("declined");
      const product = demoCatalog[1];
      if (!product) throw new Error("demo catalog too small");
      const before = await stock(product.id);

      await shopper.addItem(product.id, 1);
      const placed = await shopper.checkout({ cardNumber: DECLINED_CARD });
      const order = await shopper.waitFinal(placed.order_id, { timeoutMs: 30_000, intervalMs: 20 });
      expect(order).toMatchObject({ status: "cancelled", cancel_reason: "payment_declined" });
      await expect.poll(() => stock(product.id), { timeout: 15_000, interval: 50 }).toBe(before);
    });

    it("keeps an order waiting while payment is down (kill -9) and pays it once payment is back", async () => {
      const shopper = await signup("patient");
      const product = demoCatalog[2];
      if (!product) throw new Error("demo catalog too small");
      await shopper.addItem(product.id, 1);

      const killed = await mesh.kill("payment", "SIGKILL");
      expect(killed).toMatchObject({ name: "payment", signal: "SIGKILL", expected: true });
      expect(mesh.pid("payment")).toBeUndefined();
      expect((await rest(mesh.url, "GET", "/readyz")).status).toBe(503);

      const placed = await shopper.checkout();
      await expect.poll(async () => (await shopper.order(placed.order_id)).status, { timeout: 15_000 }).toBe("stock_reserved");
      await new Promise((r) => setTimeout(r, 500));
      expect((await shopper.order(placed.order_id)).status).toBe("stock_reserved");

      await mesh.start("payment");
      notePids();
      const order = await shopper.waitFinal(placed.order_id, { timeoutMs: 30_000, intervalMs: 20 });
      expect(order.status).toBe("paid");
      await expect.poll(async () => (await rest(mesh.url, "GET", "/readyz")).status, { timeout: 15_000 }).toBe(200);
      expect(unexpectedExits).toEqual([]);
    });

    it("hands the order saga to a second order process on the same database when the first stops", async () => {
      const replica = await mesh.startReplica("order");
      notePids();
      expect(replica.name).toBe("order-2");
      expect(replica.address).not.toBe(mesh.services.order);

      const shopper = await signup("replica");
      const product = demoCatalog[3];
      if (!product) throw new Error("demo catalog too small");
      await shopper.addItem(product.id, 1);
      await mesh.stop("order");

      const orders = createClient(OrderService, replica.address);
      const as = { metadata: { authorization: `Bearer ${shopper.token}` } };
      try {
        const placed = await orders.placeOrder({}, as);
        await expect
          .poll(async () => (await orders.getOrder({ id: placed.orderId }, as)).order?.status, { timeout: 30_000, interval: 50 })
          .toBe(OrderStatus.PAID);
      } finally {
        closeClient(orders);
      }

      await mesh.start("order");
      notePids();
      await mesh.stop(replica.name);
      // The edge's order process serves again, and sees what the replica wrote.
      expect((await shopper.call<{ items: unknown[] }>("GET", "/api/orders")).body.items).toHaveLength(1);
    });

    it("seeds the demo catalog once: a restarted catalog keeps the stock it had", async () => {
      const list = async () =>
        (await rest<{ items: Array<{ id: string; stock: number }> }>(mesh.url, "GET", `/api/products?page_size=${demoCatalog.length + 1}`))
          .body.items;
      const before = await list();
      expect(before).toHaveLength(demoCatalog.length);
      await mesh.restart("catalog");
      notePids();
      await expect.poll(list, { timeout: 15_000, interval: 100 }).toEqual(before);
    });

    it("reports a process that ends on its own and starts it again on request", async () => {
      const pid = mesh.pid("notification");
      if (pid === undefined) throw new Error("notification is not running");
      process.kill(pid, "SIGKILL");
      await expect
        .poll(() => unexpectedExits.map((e) => [e.name, e.signal, e.expected]), { timeout: 10_000 })
        .toEqual([["notification", "SIGKILL", false]]);
      unexpectedExits.length = 0;

      await mesh.start("notification");
      notePids();
      // Its consumer group carries on where it left off: a new shopper's welcome email arrives.
      const shopper = await signup("welcome");
      await expect
        .poll(async () => (await shopper.notifications()).map((n) => n.kind), { timeout: 30_000, interval: 50 })
        .toEqual(["welcome"]);
    });
  });
});
