import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "@shopmesh/platform";
import { errorBody, HttpError, httpStatusOf, isEdgeRejection, isServerFault, toPublicError } from "./errors.js";
import { type NodeRequest, type NodeResponse, sendJson } from "./node-http.js";

/**
 * Answers a plain HTTP route (REST, images) that failed with `err`: its status and the error
 * body. A server fault is logged at error (its cause never sent), any other refusal at debug;
 * `failed` is the log line's message, `route` names the route when one was matched.
 */
export function sendError(req: NodeRequest, res: NodeResponse, err: unknown, logger: Logger, failed: string, route?: string): void {
  if (err instanceof HttpError) {
    // HTTP/1.1: a refused body may still be arriving; close rather than parse it as a request.
    const close = err.status === 413 && req.httpVersionMajor === 1 ? { connection: "close" } : undefined;
    sendJson(res, err.status, errorBody(new ConnectError(err.message, err.code)), { ...err.headers, ...close });
    return;
  }
  const e = toPublicError(err);
  const fields = { route, code: e.code };
  if (isServerFault(e.code)) logger.error({ ...fields, err: e.cause ?? e }, failed);
  else logger.debug({ ...fields, message: e.rawMessage }, failed);
  if (e.code === Code.Canceled && res.destroyed) return;
  // The edge's own refusals carry headers (Retry-After).
  sendJson(res, httpStatusOf(e.code), errorBody(e), isEdgeRejection(e) ? Object.fromEntries(e.metadata) : undefined);
}
