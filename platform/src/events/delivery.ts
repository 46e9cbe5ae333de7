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
}

/** Set by `observeBus` around each delivery. */
export const deliveries = new AsyncLocalStorage<Delivery>();

/** The delivery being handled on this async path, if any. */
export function currentDelivery(): Delivery | undefined {
  return deliveries.getStore();
}

/**
 * The log field that names an event's key: events are keyed by the aggregate they are about,
 * which is the user for the auth domain's events and the order for every other domain's.
 */
export function eventKeyField(type: string): "user_id" | "order_id" {
  return type.startsWith("shop.auth.") ? "user_id" : "order_id";
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
