import type { ServerResponse } from "node:http";
import { cors as connectCors } from "@connectrpc/connect";
import type { NodeRequest, NodeResponse } from "./node-http.js";

/** Headers browsers may send beyond what the Connect protocols need. */
const appRequestHeaders = ["Authorization", "Idempotency-Key", "X-Request-Id", "Traceparent", "Tracestate"];
/** Headers browsers may read beyond what the Connect protocols expose. */
const appResponseHeaders = ["X-Request-Id", "Allow"];

export interface Cors {
  /**
   * Adds CORS headers for an allowed origin. Answers a preflight itself and returns true;
   * returns false when the request should go on to the handlers.
   */
  apply(req: NodeRequest, res: NodeResponse): boolean;
}

/** CORS for `origins` ("*" for any), with the headers of the Connect protocols (connect's `cors`). */
export function createCors(origins: readonly string[]): Cors {
  const any = origins.includes("*");
  const allowed = new Set(origins);
  const allowMethods = [...new Set([...connectCors.allowedMethods, "GET", "POST", "PUT", "PATCH", "DELETE"])].join(", ");
  const allowHeaders = [...new Set([...connectCors.allowedHeaders, ...appRequestHeaders])].join(", ");
  const exposeHeaders = [...new Set([...connectCors.exposedHeaders, ...appResponseHeaders])].join(", ");

  return {
    apply(req, res) {
      const origin = req.headers.origin;
      if (origin === undefined) return false;
      const ok = any || allowed.has(origin);
      const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
      if (preflight) {
        const headers: Record<string, string> = { vary: "Origin" };
        if (ok) {
          headers["access-control-allow-origin"] = any ? "*" : origin;
          headers["access-control-allow-methods"] = allowMethods;
          headers["access-control-allow-headers"] = allowHeaders;
          headers["access-control-max-age"] = "7200";
        }
        // Without the allow headers the browser refuses the real request itself.
        (res as ServerResponse).writeHead(204, headers);
        res.end();
        return true;
      }
      if (ok) {
        res.setHeader("access-control-allow-origin", any ? "*" : origin);
        res.setHeader("access-control-expose-headers", exposeHeaders);
        if (!any) res.setHeader("vary", "Origin");
      }
      return false;
    },
  };
}
