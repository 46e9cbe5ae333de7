// The events the Kafka scenarios send: OrderPlaced as the order service writes it, and the Kafka
// message the platform's bus makes of an event (key, protobuf value, CloudEvents binary headers).
import { randomBytes, randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { createEnvelope, type Envelope } from "@shopmesh/platform";
import { OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { OrderItemSchema } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import type { IHeaders, Message } from "kafkajs";

/**
 * An OrderPlaced of one line with a card token (~160-byte payload) and a trace context, typed
 * `type` (default its real name): the bus picks the topic from the type, so a run gives it a
 * topic of its own, however shared the broker.
 */
export function orderPlaced(type: string = OrderPlacedSchema.typeName): Envelope {
  const orderId = randomUUID();
  const message = create(OrderPlacedSchema, {
    orderId,
    userId: randomUUID(),
    items: [
      create(OrderItemSchema, {
        productId: "p-moka-pot",
        name: "Moka Pot, 6 Cups",
        unitPriceCents: 3490,
        quantity: 1,
        lineTotalCents: 3490,
      }),
    ],
    totalCents: 3490,
    currency: "EUR",
    paymentMethod: `pm_${randomBytes(12).toString("hex")}`,
    placedAt: timestampNow(),
  });
  const envelope = createEnvelope(OrderPlacedSchema, message, {
    source: "order",
    key: orderId,
    traceparent: `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`,
  });
  return { ...envelope, type };
}

/** What the Kafka bus sends for `event` (platform/src/events/kafka-bus.ts), built here for the bare clients. */
export function kafkaMessage(event: Envelope): Message {
  const headers: IHeaders = {
    ce_specversion: "1.0",
    ce_id: event.id,
    ce_source: event.source,
    ce_type: event.type,
    ce_time: event.time.toISOString(),
    "content-type": "application/protobuf",
  };
  if (event.traceparent) headers.traceparent = event.traceparent;
  return { key: event.key, value: Buffer.from(event.payload), headers };
}
