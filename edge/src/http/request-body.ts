import { Code, ConnectError } from "@connectrpc/connect";
import { HttpError } from "./errors.js";
import type { NodeRequest } from "./node-http.js";

/** 413: a request body over `limit` bytes. */
export function tooLarge(limit: number): HttpError {
  return new HttpError(413, Code.ResourceExhausted, `request body exceeds ${limit} bytes`);
}

/**
 * Reads a request body up to `limit` bytes: a Content-Length above it is refused before reading;
 * a body that grows past it while streaming is refused as soon as it does (413), and nothing
 * more of it is kept.
 */
export function readRequestBody(req: NodeRequest, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop buffering; whatever else arrives is discarded until the connection closes.
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new ConnectError("request body could not be read", Code.Canceled, undefined, undefined, err));
    };
    const onAborted = () => onError(new Error("request aborted"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
