import { AsyncLocalStorage } from "node:async_hooks";
import type { Attributes } from "@opentelemetry/api";
import { type Envelope, eventTopic } from "./envelope.js";

/** What `consumeOnce` made of an event: applied now, applied before (inbox), or set aside after failing. */
export type ConsumeResult = "handled" | "duplicate" | "dead-lettered";

/** How a delivery ended for its consumer: `consumeOnce`'s result, or "failed" (the bus delivers it again). */
export type DeliveryOutcome = "handled" | "duplicate" | "dead_lettered" | "failed";

/** The event a consumer is handling on this async path. */
export interface Delivery {
  readonly event: Envelope;
  /** Set by `consumeOnce`; a handler that does not use it counts as "handled" when it resolves. */
  result: ConsumeResult | undefined;
  /**
   * The field the event's contract names as its key (e.g. "order_id"), set by the consumer that
   * knows the event's schema (`subscribeInbox`); log lines name the key after it.
   */
  keyField: string | undefined;
}

/** Set by `observeBus` around each delivery. */
export const deliveries = new AsyncLocalStorage<Delivery>();

/** The delivery being handled on this async path, if any. */
export function currentDelivery(): Delivery | undefined {
  return deliveries.getStore();
}

/** The log field of the delivery's event key: the field its contract names, else `event_key`. */
export function keyLogField(delivery: Delivery): string {
  return delivery.keyField ?? "event_key";
}

/** OpenTelemetry's messaging attributes of a span that publishes or processes `event`. */
export function messagingAttributes(event: Envelope, operation: "send" | "process", group?: string): Attributes {
  return {
    "messaging.operation.type": operation,
    "messaging.destination.name": eventTopic(event.type),
    "messaging.message.id": event.id,
    "shopmesh.event.type": event.type,
    ...(group ? { "messaging.consumer.group.name": group } : {}),
  };
}
