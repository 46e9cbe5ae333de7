import { createHistogram } from "@shopmesh/platform";
import type { NodeResponse } from "./rest.js";

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
