import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import { currentDelivery, keyLogField } from "../events/delivery.js";
import { currentCall } from "../grpc/context.js";

/**
 * What every log line carries about where it was written, for joining lines across services:
 * `trace_id` and `span_id` of the active span, `user_id` of the verified caller of the RPC being
 * served, and the key of the event being consumed, named after the field its contract declares
 * (`order_id`, `user_id`).
 * Fields a line sets itself win.
 */
export function logContext(): Record<string, string> {
  const out: Record<string, string> = {};
  const span = trace.getSpanContext(context.active());
  if (span && isSpanContextValid(span)) {
    out.trace_id = span.traceId;
    out.span_id = span.spanId;
  }
  const user = currentCall()?.principal?.userId;
  if (user) out.user_id = user;
  const delivery = currentDelivery();
  if (delivery) out[keyLogField(delivery)] = delivery.event.key;
  return out;
}
