import { createRegistry, fromBinary } from "@bufbuild/protobuf";
import { demoCatalog } from "@shopmesh/catalog";
import { closeClient } from "@shopmesh/platform";
import { file_shop_auth_v1_events } from "@shopmesh/proto/shop/auth/v1/events_pb.js";
import { file_shop_catalog_v1_events } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { file_shop_order_v1_events } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { file_shop_payment_v1_events } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { type Payment, PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { type Admin, Kafka, type KafkaMessage, logLevel } from "kafkajs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serviceNames } from "../../distributed-mesh.js";
import { type OrderJson, rest, type Shopper } from "../../shopper.js";
import { describeDistributed } from "../distributed-fixture.test-support.js";
import { createTestClient } from "@shopmesh/platform/testing";

/**
 * Distributed mode under faults: what is on the wire, a service killed mid-saga, the broker
 * away, duplicate and undecodable messages, two replicas of one service. Every check goes
 * through the public contracts: the edge's REST routes, the services' gRPC methods and the
 * Kafka topics, read with a plain kafkajs client.
 */

const ORDER_TOPIC = "shop.order.v1";
const TOPICS = ["shop.auth.v1", "shop.catalog.v1", "shop.order.v1", "shop.payment.v1"] as const;
const eventTypes = createRegistry(
  file_shop_auth_v1_events,
  file_shop_catalog_v1_events,
  file_shop_order_v1_events,
  file_shop_payment_v1_events,
);
const FINAL_TIMEOUT = { timeoutMs: 60_000, intervalMs: 50 };

interface WireMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

describeDistributed("distributed mode under faults", (t) => {
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: "fault-test", brokers: [...t.kafka.brokers], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
  });

  /** Every message on `topic` now, read from the beginning by a consumer group of its own. */
  async function readTopic(topic: string): Promise<WireMessage[]> {
    const ends = await admin.fetchTopicOffsets(topic);
    const remaining = new Map(ends.filter((p) => p.high !== p.low).map((p) => [p.partition, BigInt(p.high)]));
    const messages: WireMessage[] = [];
    if (remaining.size === 0) return messages;
    const consumer = kafka.consumer({ groupId: `fault-test-reader-${crypto.randomUUID()}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${topic} not read to its end within 20 s`)), 20_000);
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              messages.push(toWire(partition, message));
              const end = remaining.get(partition);
              if (end !== undefined && BigInt(message.offset) + 1n >= end) remaining.delete(partition);
              if (remaining.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return messages;
  }

  /** Messages on `topics` that `group` has not committed yet. */
  async function lag(group: string, topics: readonly string[]): Promise<number> {
    let behind = 0;
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      for (const end of ends) {
        const at = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        behind += Number(end.high) - Math.max(at, Number(end.low));
      }
    }
    return behind;
  }

  const paymentsOf = async (orderId: string): Promise<Payment[]> => {
    const payments = createTestClient(PaymentService, t.mesh.services.payment);
    try {
      return (await payments.listPayments({ orderId })).items;
    } finally {
      closeClient(payments);
    }
  };

  /** Each order final and as its status says: paid with one successful payment of its total, or cancelled and not charged. */
  async function expectSettled(orders: readonly OrderJson[], status: "paid" | "cancelled"): Promise<void> {
    for (const order of orders) {
      expect(order.status, order.id).toBe(status);
      const payments = await paymentsOf(order.id);
      if (status === "paid") {
        expect(payments.map((p) => [p.status, p.amountCents])).toEqual([[PaymentStatus.SUCCEEDED, order.total_cents]]);
      } else {
        expect(payments.filter((p) => p.status === PaymentStatus.SUCCEEDED)).toEqual([]);
      }
    }
  }

  /**
   * Starts a second order process and returns once the order group has rebalanced onto both.
   * A group's members wait in JoinGroup while it rebalances (the test broker gives a joining
   * member up to 9 s), so an order paid after the replica joined proves both consume again.
   */
  async function startOrderReplica(): Promise<{ name: string; address: string }> {
    const replica = await t.mesh.startReplica("order");
    t.notePids();
    await new Promise((r) => setTimeout(r, 2_000)); // its consumer's JoinGroup is on its way
    const [probe] = await shoppersWithCarts("probe", 1, demoCatalog[0]?.id ?? "");
    if (!probe) throw new Error("no shopper");
    expect((await probe.waitFinal((await probe.checkout()).order_id, FINAL_TIMEOUT)).status).toBe("paid");
    return replica;
  }

  /** `count` shoppers, each with one unit of `productId` in the cart. */
  async function shoppersWithCarts(name: string, count: number, productId: string): Promise<Shopper[]> {
    const shoppers = await Promise.all(Array.from({ length: count }, (_, i) => t.signup(`${name}${i}`)));
    await Promise.all(shoppers.map((s) => s.addItem(productId, 1)));
    return shoppers;
  }

  it("publishes the order's events on shop.order.v1 keyed by order id, with CloudEvents headers and a protobuf value of ce_type", async () => {
    const shopper = await t.signup("wire");
    await shopper.addItem(demoCatalog[0]?.id ?? "", 1);
    const placed = await shopper.checkout();
    expect((await shopper.waitFinal(placed.order_id, FINAL_TIMEOUT)).status).toBe("paid");

    let mine: WireMessage[] = [];
    await expect
      .poll(
        async () => {
          mine = (await readTopic(ORDER_TOPIC)).filter((m) => m.key === placed.order_id);
          return mine.map((m) => m.headers.ce_type);
        },
        { timeout: 15_000, interval: 200 },
      )
      .toEqual(["shop.order.v1.OrderPlaced", "shop.order.v1.OrderPaid"]);
    for (const m of mine) {
      expect(m.headers).toMatchObject({
        ce_specversion: "1.0",
        ce_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        ce_source: expect.stringContaining("order"),
        "content-type": "application/protobuf",
      });
      expect(new Date(m.headers.ce_time ?? "").toISOString()).toBe(m.headers.ce_time);
      const schema = eventTypes.getMessage(m.headers.ce_type ?? "");
      if (!schema || !m.value) throw new Error(`no message type ${m.headers.ce_type} or no value`);
      expect(fromBinary(schema, m.value)).toMatchObject({ orderId: placed.order_id });
    }
    // Both events of an order on one partition, in order.
    expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
  });

  it("sends an undecodable message to shop.order.v1.dlq with the error, and still handles the next order", async () => {
    const poisonId = crypto.randomUUID();
    const partitions = (await admin.fetchTopicOffsets(ORDER_TOPIC)).map((p) => p.partition);
    const producer = kafka.producer();
    await producer.connect();
    try {
      // One on every partition, so that whichever the next order lands on has one before it.
      await producer.send({
        topic: ORDER_TOPIC,
        messages: partitions.map((partition) => ({
          partition,
          key: `poison-${partition}`,
          value: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
          headers: {
            ce_specversion: "1.0",
            ce_id: `${poisonId}-${partition}`,
            ce_source: "fault-test",
            ce_type: "shop.order.v1.OrderPlaced",
            ce_time: new Date().toISOString(),
            "content-type": "application/protobuf",
          },
        })),
      });
    } finally {
      await producer.disconnect();
    }

    const [shopper] = await shoppersWithCarts("after-poison", 1, demoCatalog[1]?.id ?? "");
    if (!shopper) throw new Error("no shopper");
    const placed = await shopper.checkout();
    await expectSettled([await shopper.waitFinal(placed.order_id, FINAL_TIMEOUT)], "paid");

    // Every group that handles OrderPlaced set the poison aside, once per partition.
    await expect
      .poll(
        async () =>
          (await readTopic(`${ORDER_TOPIC}.dlq`))
            .filter((m) => m.headers.ce_id?.startsWith(poisonId))
            .map((m) => m.headers.dlq_group)
            .sort(),
        { timeout: 30_000, interval: 500 },
      )
      .toEqual(["cart", "catalog", "payment"].flatMap((group) => partitions.map(() => group)));
    const dlq = (await readTopic(`${ORDER_TOPIC}.dlq`)).filter((m) => m.headers.ce_id?.startsWith(poisonId));
    for (const m of dlq) expect(m.headers.dlq_error).toBeTruthy();
  });

  it("runs two order processes at once on one database: each event handled once, each outbox row published once", {
    timeout: 120_000,
  }, async () => {
    const replica = await startOrderReplica();
    const product = demoCatalog[2];
    if (!product) throw new Error("demo catalog too small");
    const before = await t.stock(product.id);
    const shoppers = await shoppersWithCarts("replicas", 10, product.id);
    const orders = createTestClient(OrderService, replica.address);
    try {
      // Half through the edge (the first order process), half straight to the replica.
      const placed = await Promise.all(
        shoppers.map(async (s, i) =>
          i % 2 === 0
            ? (await s.checkout()).order_id
            : (await orders.placeOrder({}, { metadata: { authorization: `Bearer ${s.token}` } })).orderId,
        ),
      );
      const final = await Promise.all(placed.map((id, i) => shoppers[i]?.waitFinal(id, FINAL_TIMEOUT) as Promise<OrderJson>));
      await expectSettled(final, "paid");
      for (const order of final) expect(order.history.map((h) => h.to_status)).toEqual(["pending", "stock_reserved", "paid"]);
      expect(await t.stock(product.id)).toBe(before - shoppers.length);

      const ids = new Set(placed);
      // OrderPlaced and OrderPaid of each, once: the paid status is committed before its event is relayed.
      const perEvent = new Map<string, number>();
      await expect
        .poll(
          async () => {
            perEvent.clear();
            for (const m of await readTopic(ORDER_TOPIC)) {
              if (ids.has(m.key)) perEvent.set(m.headers.ce_id ?? "", (perEvent.get(m.headers.ce_id ?? "") ?? 0) + 1);
            }
            return perEvent.size;
          },
          { timeout: 15_000, interval: 200 },
        )
        .toBe(2 * ids.size);
      expect([...perEvent.values()].filter((n) => n !== 1)).toEqual([]);
    } finally {
      closeClient(orders);
      await t.mesh.stop(replica.name);
    }
  });

  it("streams each transition to a watcher of one order process, whichever of two replicas applied it", async () => {
    const replica = await startOrderReplica();
    const product = demoCatalog[5];
    if (!product) throw new Error("demo catalog too small");
    const shoppers = await shoppersWithCarts("watcher", 8, product.id);
    const orders = createTestClient(OrderService, t.mesh.services.order);
    await t.mesh.stop("payment");
    try {
      const placed = await Promise.all(shoppers.map(async (s) => (await s.checkout()).order_id));
      await expect
        .poll(async () => (await Promise.all(placed.map((id, i) => shoppers[i]?.order(id)))).map((o) => o?.status), { timeout: 30_000 })
        .toEqual(placed.map(() => "stock_reserved"));
      // Each shopper watches their order on the first process; payment's results are then
      // consumed by whichever replica holds the order's partition.
      const seen = placed.map((): OrderStatus[] => []);
      const streams = placed.map(async (id, i) => {
        const as = { metadata: { authorization: `Bearer ${shoppers[i]?.token}` } };
        for await (const { update } of orders.streamOrders({ orderIds: [id] }, as)) if (update) seen[i]?.push(update.status);
      });
      await expect.poll(() => seen.every((s) => s.length > 0), { timeout: 10_000 }).toBe(true);
      await t.mesh.start("payment");
      t.notePids();
      await Promise.race([
        Promise.all(streams),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`the watchers saw only ${JSON.stringify(seen)}`)), 30_000)),
      ]);
      expect(seen).toEqual(placed.map(() => [OrderStatus.STOCK_RESERVED, OrderStatus.PAID]));
    } finally {
      closeClient(orders);
      if (t.mesh.pid("payment") === undefined) await t.mesh.start("payment");
      await t.mesh.stop(replica.name);
    }
  }, 120_000);

  it("pays orders once after payment is killed (kill -9) in the middle of charging them and started again", async () => {
    const product = demoCatalog[3];
    if (!product) throw new Error("demo catalog too small");
    const placedAll: Array<{ shopper: Shopper; id: string }> = [];
    let killedMidCharge = false;
    // Payment may charge a batch faster than the kill lands: then another batch, at most 5.
    for (let round = 0; round < 5 && !killedMidCharge; round++) {
      const shoppers = await shoppersWithCarts(`crash${round}-`, 10, product.id);
      const placed = await Promise.all(shoppers.map(async (s) => ({ shopper: s, id: (await s.checkout()).order_id })));
      placedAll.push(...placed);
      // Kill it as soon as the first order has its stock reserved: StockReserved is out, payment is at work.
      await expect
        .poll(async () => (await Promise.all(placed.map((p) => p.shopper.order(p.id)))).some((o) => o.status !== "pending"), {
          timeout: 30_000,
          interval: 10,
        })
        .toBe(true);
      try {
        expect(await t.mesh.kill("payment", "SIGKILL")).toMatchObject({ signal: "SIGKILL", expected: true });
        const unsettled = await Promise.all(placed.map((p) => p.shopper.order(p.id)));
        killedMidCharge = unsettled.some((o) => o.status !== "paid");
      } finally {
        await t.mesh.start("payment");
        t.notePids();
      }
    }
    expect(killedMidCharge).toBe(true);
    const final = await Promise.all(placedAll.map((p) => p.shopper.waitFinal(p.id, FINAL_TIMEOUT)));
    await expectSettled(final, "paid");
    expect(t.unexpectedExits).toEqual([]);
  }, 240_000);

  it("takes 20 orders while the broker is away and settles every one once it is back", async () => {
    const product = demoCatalog[4];
    if (!product) throw new Error("demo catalog too small");
    const before = await t.stock(product.id);
    const shoppers = await shoppersWithCarts("brokerless", 20, product.id);

    await t.kafka.down();
    let placed: string[];
    try {
      placed = await Promise.all(shoppers.map(async (s) => (await s.checkout()).order_id));
      await new Promise((r) => setTimeout(r, 1_000));
      const waiting = await Promise.all(placed.map((id, i) => shoppers[i]?.order(id)));
      expect(waiting.map((o) => o?.status)).toEqual(placed.map(() => "pending"));
    } finally {
      await t.kafka.up();
    }

    const final = await Promise.all(
      placed.map((id, i) => shoppers[i]?.waitFinal(id, { timeoutMs: 90_000, intervalMs: 100 }) as Promise<OrderJson>),
    );
    await expectSettled(final, "paid");
    expect(await t.stock(product.id)).toBe(before - shoppers.length);
    await expect
      .poll(
        async () =>
          (await Promise.all(shoppers.map((s) => s.notifications()))).map((n) =>
            n
              .map((x) => x.kind)
              .sort()
              .join(),
          ),
        {
          timeout: 30_000,
          interval: 200,
        },
      )
      .toEqual(shoppers.map(() => "order_paid,welcome"));
  }, 150_000);

  it("delivers every event of every topic a second time (a replay from the beginning) with no second effect anywhere", async () => {
    const snapshot = async () => {
      const products = await rest<{ items: Array<{ id: string; stock: number }> }>(
        t.mesh.url,
        "GET",
        `/api/products?page_size=${demoCatalog.length + 1}`,
        { token: await t.readerToken() },
      );
      const payments = createTestClient(PaymentService, t.mesh.services.payment);
      try {
        const all = (await payments.listPayments({ pageSize: 500 })).items;
        return {
          stock: products.body.items.map((p) => [p.id, p.stock]),
          payments: all.map((p) => [p.orderId, p.status, p.amountCents, p.attempts]).sort(),
        };
      } finally {
        closeClient(payments);
      }
    };
    const shopper = await t.signup("replay");
    await shopper.addItem(demoCatalog[0]?.id ?? "", 1);
    const placed = await shopper.checkout();
    const order = await shopper.waitFinal(placed.order_id, FINAL_TIMEOUT);
    await expect.poll(async () => (await shopper.notifications()).length, { timeout: 15_000 }).toBe(2);
    const before = await snapshot();

    // Every message of every topic once more, as it was (partition, key, value, headers): each
    // consuming group receives its whole history a second time while the services run.
    const producer = kafka.producer();
    await producer.connect();
    let replayed = 0;
    try {
      for (const topic of TOPICS) {
        const messages = await readTopic(topic);
        replayed += messages.length;
        for (let i = 0; i < messages.length; i += 500) {
          await producer.send({
            topic,
            messages: messages.slice(i, i + 500).map((m) => ({ partition: m.partition, key: m.key, value: m.value, headers: m.headers })),
          });
        }
      }
    } finally {
      await producer.disconnect();
    }
    expect(replayed).toBeGreaterThan(100);
    // Caught up: every group's committed offsets reach the ends of the topics it reads.
    await expect
      .poll(
        async () => {
          let behind = 0;
          for (const group of serviceNames) {
            const topics = (await admin.fetchOffsets({ groupId: group, topics: [...TOPICS] }))
              .filter((c) => c.partitions.some((p) => Number(p.offset) >= 0))
              .map((c) => c.topic);
            behind += await lag(group, topics);
          }
          return behind;
        },
        { timeout: 90_000, interval: 250 },
      )
      .toBe(0);

    expect(await snapshot()).toEqual(before);
    expect(await shopper.order(placed.order_id)).toEqual(order);
    expect((await shopper.notifications()).map((n) => n.kind).sort()).toEqual(["order_paid", "welcome"]);
  }, 240_000);
});

function toWire(partition: number, message: KafkaMessage): WireMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? String(value[0]) : String(value);
  }
  return { partition, offset: message.offset, key: message.key?.toString() ?? "", value: message.value, headers };
}
