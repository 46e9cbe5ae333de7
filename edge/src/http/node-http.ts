import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/** A request as the edge's listener hands it over: HTTP/1.1 or HTTP/2. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** Read access to request headers; `Headers` satisfies it, and so does the edge's node:http view. */
export interface HeaderReader {
  /** The value of a header (name in lower case), or null when absent. */
  get(name: string): string | null;
}

/** A HeaderReader over node's lower-cased header object. */
export function nodeHeaders(req: NodeRequest): HeaderReader {
  const h = req.headers;
  return {
    get(name) {
      const v = h[name];
      return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
    },
  };
}

/** Writes a JSON answer (or nothing when the client is gone). */
export function sendJson(res: NodeResponse, status: number, body: string, headers?: Readonly<Record<string, string>>): void {
  if (res.headersSent || res.destroyed) return;
  const out: Record<string, string | number> = {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  };
  if (headers) Object.assign(out, headers);
  (res as ServerResponse).writeHead(status, out);
  res.end(body);
}
