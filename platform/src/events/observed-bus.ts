import { AsyncLocalStorage } from "node:async_hooks";
import { type Logger, roundMs } from "../logger.js";
import { eventDeliveryLag, eventHandlingDuration, eventsConsumed } from "../telemetry/metrics.js";
import type { Envelope } from "./envelope.js";
import type { EventBus, EventHandler } from "./event-bus.js";
import type { ConsumeResult } from "./inbox.js";

/** How a delivery ended for its consumer: `consumeOnce`'s result, or "failed" (the bus delivers it again). */
export type DeliveryOutcome = "handled" | "duplicate" | "dead_lettered" | "failed";

/** The event a consumer is handling on this async path. */
export interface Delivery {
  readonly event: Envelope;
  /** Set by `consumeOnce`; a handler that does not use it counts as "handled" when it resolves. */
  result: ConsumeResult | undefined;
}

const deliveries = new AsyncLocalStorage<Delivery>();

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

/**
 * `bus` as `service` sees it: every delivery to its handlers is observed — one log line (type,
 * id, outcome, duration), `shopmesh_events_consumed_total` by type and outcome, the handling
 * duration and the delivery lag (event time → handling starts) — and runs as the
 * {@link currentDelivery}, which `consumeOnce` reports its result to and log lines take the
 * event's key from.
 */
export function observeBus(bus: EventBus, service: string, logger: Logger): EventBus {
  // Summary lines only have fixed fields: no redaction needed (see the gRPC `observe` interceptor).
  const log = logger.child({}, { redact: [] });
  const observed = (handler: EventHandler): EventHandler => {
    return async (event) => {
      const delivery: Delivery = { event, result: undefined };
      const labels = { service, type: event.type };
      eventDeliveryLag.observe(labels, Math.max(0, Date.now() - event.time.getTime()) / 1000);
      const started = performance.now();
      let outcome: DeliveryOutcome = "failed";
      try {
        await deliveries.run(delivery, () => handler(event));
        outcome = delivery.result === "dead-lettered" ? "dead_lettered" : (delivery.result ?? "handled");
      } finally {
        const ms = performance.now() - started;
        eventHandlingDuration.observe(labels, ms / 1000);
        eventsConsumed.inc({ ...labels, outcome });
        const fields = { type: event.type, eventId: event.id, [eventKeyField(event.type)]: event.key, outcome, duration_ms: roundMs(ms) };
        if (outcome === "handled" || outcome === "duplicate") log.info(fields, "event consumed");
        else log.warn(fields, "event consumed");
      }
    };
  };
  return {
    publish: (events) => bus.publish(events),
    subscribe: (group, types, handler) => bus.subscribe(group, types, observed(handler)),
    ...(bus.deadLetter ? { deadLetter: bus.deadLetter.bind(bus) } : {}),
    close: () => bus.close(),
  };
}
