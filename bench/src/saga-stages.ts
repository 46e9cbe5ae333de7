// Where a distributed checkout's time goes: a consumer group of the bench's own reads the saga's
// events off the broker, and each paid checkout is cut at the moments its OrderPlaced,
// StockReserved and PaymentSucceeded were sent to the broker (the Kafka message timestamp, set by
// the sending relay's client). The mesh's own groups are not touched.
import { randomBytes } from "node:crypto";
import { eventTopic } from "@shopmesh/platform";
import { OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { StockReservedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { PaymentSucceededSchema } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { Kafka, logLevel } from "kafkajs";
import { BUS_MAX_WAIT_MS } from "./kafka-bare.js";
import { type PaidCheckout, type Percentiles, percentiles, within } from "./checkout.js";

/** The events on a checkout's way to paid, in order. */
const SAGA_EVENTS = [OrderPlacedSchema.typeName, StockReservedSchema.typeName, PaymentSucceededSchema.typeName] as const;

export interface SagaStage {
  readonly what: string;
  readonly ms: Percentiles;
}

export interface SagaStages {
  /** Paid checkouts whose three events were all seen. */
  readonly checkouts: number;
  readonly stages: readonly SagaStage[];
}

const STAGES = [
  "POST /api/checkout → OrderPlaced sent (order: place, commit, relay)",
  "→ StockReserved sent (catalog: fetch wait, reserve, relay)",
  "→ PaymentSucceeded sent (payment: fetch wait, charge, relay)",
  "→ paid seen on the stream (order: fetch wait, PAID, push)",
] as const;

/** Starts reading the saga's topics; `record` each paid checkout, then `stop` for the stages. */
export async function observeSaga(brokers: readonly string[]) {
  const consumer = new Kafka({ brokers: [...brokers], clientId: "bench-saga-observer", logLevel: logLevel.NOTHING }).consumer({
    groupId: `bench-${randomBytes(4).toString("hex")}-saga-observer`,
    maxWaitTimeInMs: BUS_MAX_WAIT_MS,
  });
  /** order id → event type → epoch ms it was sent to the broker. */
  const sent = new Map<string, Map<string, number>>();
  const paid: PaidCheckout[] = [];
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics: [...new Set(SAGA_EVENTS.map(eventTopic))], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const type = message.headers?.ce_type?.toString();
      const key = message.key?.toString();
      if (!type || !key || !(SAGA_EVENTS as readonly string[]).includes(type)) return;
      const byType = sent.get(key) ?? new Map<string, number>();
      sent.set(key, byType.set(type, Number(message.timestamp)));
    },
  });
  await within(joined, 30_000, "joining the saga observer's group");

  return {
    record(checkout: PaidCheckout): void {
      paid.push(checkout);
    },
    /** Waits (briefly) for the last events, stops reading and cuts every paid checkout into stages. */
    async stop(): Promise<SagaStages> {
      const complete = (c: PaidCheckout) => SAGA_EVENTS.every((t) => sent.get(c.orderId)?.has(t));
      for (let waited = 0; waited < 5_000 && !paid.every(complete); waited += 50) await new Promise((r) => setTimeout(r, 50));
      await consumer.disconnect();
      const seen = paid.filter(complete);
      const cuts = seen.map((c) => {
        const at = SAGA_EVENTS.map((t) => sent.get(c.orderId)?.get(t) as number);
        return [c.sentAt, ...at, c.paidAt];
      });
      return {
        checkouts: seen.length,
        stages: STAGES.flatMap((what, i) => {
          const ms = percentiles(cuts.map((points) => (points[i + 1] as number) - (points[i] as number)));
          return ms ? [{ what, ms }] : [];
        }),
      };
    },
  };
}
