import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { createHistogram, lazyTracer, type Logger, roundMs } from "@shopmesh/platform";
import type { NodeRequest, NodeResponse } from "./node-http.js";

const httpDuration = createHistogram({
  name: "shopmesh_http_server_duration_seconds",
  help: "HTTP requests the edge answered (REST, Connect, gRPC-Web, gRPC, health): duration until the response ended, by route and HTTP status",
  labelNames: ["service", "route", "code"],
});

/** The route of a request no handler knows (404 from the Connect router's fallback). */
export const unmatchedRoute = "(unmatched)";

/**
 * Observes `res` once it closes (sent or abandoned) as a request of `route`: a REST template
 * ("GET /api/orders/{id}"), a procedure path ("/shop.order.v1.OrderService/GetOrder"), a health
 * path, or {@link unmatchedRoute} — a bounded set, so that unknown paths cannot grow the series.
 */
export function observeHttp(res: NodeResponse, route: string, started: number): void {
  res.once("close", () => {
    httpDuration.observe({ service: "edge", route, code: String(res.statusCode) }, (performance.now() - started) / 1000);
  });
}

export interface Exchange {
  /** Runs `fn` inside the request's span: the upstream calls it makes are the span's children. */
  run<T>(fn: () => T): T;
  /** Names the route the request took (see {@link observeHttp}); {@link unmatchedRoute} until told. */
  route(route: string): void;
}

const tracer = lazyTracer("edge");

/**
 * A traced request: a SERVER span, child of the caller's when it sent a W3C `traceparent`,
 * ended with the response, which is also observed as {@link observeHttp} does and logged in
 * one line (method, route, status, duration, request id) with the span's ids. `log` should not
 * redact: the line's fields are fixed.
 */
export function observeExchange(req: NodeRequest, res: NodeResponse, path: string, started: number, log: Logger): Exchange {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const method = req.method ?? "GET";
  const span = tracer().startSpan(
    method,
    { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "url.path": path } },
    parent,
  );
  let route = unmatchedRoute;
  const active = trace.setSpan(parent, span);
  res.once("close", () => {
    const status = res.statusCode;
    const ms = performance.now() - started;
    httpDuration.observe({ service: "edge", route, code: String(status) }, ms / 1000);
    span.updateName(route.startsWith(`${method} `) ? route : `${method} ${route}`);
    span.setAttributes({ "http.route": route, "http.response.status_code": status });
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    const fields = { method, route, status, duration_ms: roundMs(ms), request_id: res.getHeader("x-request-id") };
    context.with(active, () => (status >= 500 ? log.warn(fields, "http") : log.info(fields, "http")));
    span.end();
  });
  return {
    run: (fn) => context.with(active, fn),
    route(r) {
      route = r;
    },
  };
}
