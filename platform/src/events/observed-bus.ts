import { context, SpanKind, trace } from "@opentelemetry/api";
import { type Logger, roundMs } from "../logger.js";
import { eventDeliveryLag, eventHandlingDuration, eventsConsumed } from "../telemetry/metrics.js";
import { contextFromTraceparent, lazyTracer, recordFailure } from "../telemetry/tracing.js";
import { type EventBus, type EventHandler, wrapHandlers } from "./event-bus.js";
import { type Delivery, type DeliveryOutcome, deliveries, keyLogField, messagingAttributes } from "./delivery.js";

/**
 * `bus` as `service` sees it: every delivery to its handlers is observed — a CONSUMER span, child
 * of the span that published the event (its `traceparent`), one log line (type, id, outcome,
 * duration), `shopmesh_events_consumed_total` by type and outcome, the handling duration and
 * the delivery lag (event time → handling starts) — and runs inside that span and as the
 * current delivery, which `consumeOnce` reports its result to, the consumer the event's key
 * field (`subscribeInbox`), and log lines take the key from.
 */
export function observeBus(bus: EventBus, service: string, logger: Logger): EventBus {
  // Summary lines only have fixed fields: no redaction needed (see the gRPC `observe` interceptor).
  const log = logger.child({}, { redact: [] });
  const tracer = lazyTracer(service);
  const observed = (group: string, handler: EventHandler): EventHandler => {
    return async (event) => {
      const delivery: Delivery = { event, result: undefined, keyField: undefined };
      const labels = { service, type: event.type };
      eventDeliveryLag.observe(labels, Math.max(0, Date.now() - event.time.getTime()) / 1000);
      const parent = contextFromTraceparent(event.traceparent);
      const span = tracer().startSpan(
        `process ${event.type}`,
        { kind: SpanKind.CONSUMER, attributes: messagingAttributes(event, "process", group) },
        parent,
      );
      const started = performance.now();
      // The whole delivery, its summary line included, runs inside the span.
      return context.with(trace.setSpan(parent, span), async () => {
        let outcome: DeliveryOutcome = "failed";
        try {
          await deliveries.run(delivery, () => handler(event));
          outcome = delivery.result === "dead-lettered" ? "dead_lettered" : (delivery.result ?? "handled");
        } catch (err) {
          recordFailure(span, err);
          throw err;
        } finally {
          const ms = performance.now() - started;
          eventHandlingDuration.observe(labels, ms / 1000);
          eventsConsumed.inc({ ...labels, outcome });
          const fields = {
            type: event.type,
            event_id: event.id,
            [keyLogField(delivery)]: event.key,
            outcome,
            duration_ms: roundMs(ms),
          };
          if (outcome === "handled" || outcome === "duplicate") log.info(fields, "event consumed");
          else log.warn(fields, "event consumed");
          span.setAttribute("shopmesh.delivery.outcome", outcome);
          if (outcome === "dead_lettered") recordFailure(span, undefined, "dead-lettered");
          span.end();
        }
      });
    };
  };
  return wrapHandlers(bus, observed);
}
