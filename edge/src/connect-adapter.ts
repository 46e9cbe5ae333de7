import { Code, type ConnectRouter, type ConnectRouterOptions, type ContextValues, createConnectRouter } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { NodeRequest, NodeResponse } from "./rest.js";

export interface ConnectAdapterOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  readonly contextValues?: (req: NodeRequest) => ContextValues;
  /** Answers requests for paths that are no procedure. */
  readonly fallback: (req: NodeRequest, res: NodeResponse) => void;
}

/**
 * connect-node's `connectNodeAdapter`, plus one correction: a request body that is not the
 * method's protobuf message is the caller's mistake, INVALID_ARGUMENT, where connect-es answers
 * INTERNAL ("parse binary: …", HTTP 500) in every protocol. The edge must not answer a 5xx for
 * bad input, so the answer is rewritten before it is written.
 */
export function createConnectAdapter(opts: ConnectAdapterOptions): (req: NodeRequest, res: NodeResponse) => void {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...opts });
  opts.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = paths.get(req.url?.split("?", 1)[0] ?? "");
    if (!handler) {
      opts.fallback(req, res);
      return;
    }
    const uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, opts.contextValues?.(req));
    handler(uReq)
      .then(async (uRes) => universalResponseToNodeResponse(await parseErrorsAsInvalidArgument(uRes), res as never))
      .catch(() => {
        // The response could not be written (the client went away): nothing left to tell anyone.
      });
  };
}

const parseBinary = "parse binary:";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function parseErrorsAsInvalidArgument(uRes: UniversalServerResponse): Promise<UniversalServerResponse> {
  const type = uRes.header?.get("content-type") ?? "";
  // gRPC: the status travels in trailers (or in the headers of a trailers-only answer).
  for (const h of [uRes.header, uRes.trailer]) {
    if (h?.get("grpc-status") === String(Code.Internal) && decodeURIComponent(h.get("grpc-message") ?? "").startsWith(parseBinary)) {
      h.set("grpc-status", String(Code.InvalidArgument));
    }
  }
  const body = uRes.body;
  if (body === undefined || !(Symbol.asyncIterator in body)) return uRes;
  if (uRes.status === 500 && type.startsWith("application/json")) {
    // Connect unary: the error is the (small) JSON body, and the HTTP status follows the code.
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const whole = Buffer.concat(chunks);
    const rewritten = rewriteJsonError(whole);
    if (!rewritten) return { ...uRes, body: once(whole) };
    const header = new Headers(uRes.header);
    header.set("content-length", String(rewritten.byteLength));
    return { ...uRes, status: 400, header, body: once(rewritten) };
  }
  if (type.startsWith("application/grpc-web") || type.startsWith("application/connect")) {
    // gRPC-Web trailers and Connect end-of-stream messages are the last envelope of the body.
    return { ...uRes, body: mapChunks(body, rewriteEnvelope) };
  }
  return uRes;
}

async function* once(chunk: Uint8Array): AsyncIterable<Uint8Array> {
  yield chunk;
}

async function* mapChunks(body: AsyncIterable<Uint8Array>, fn: (chunk: Uint8Array) => Uint8Array): AsyncIterable<Uint8Array> {
  for await (const chunk of body) yield fn(chunk);
}

/** {"code":"internal","message":"parse binary: …"} (also inside {"error": …}) with the code invalid_argument. */
function rewriteJsonError(bytes: Uint8Array): Uint8Array | undefined {
  const text = decoder.decode(bytes);
  if (!text.includes(parseBinary)) return undefined;
  try {
    const parsed = JSON.parse(text) as { code?: string; message?: string; error?: { code?: string; message?: string } };
    const e = parsed.error ?? parsed;
    if (e.code !== "internal" || !e.message?.startsWith(parseBinary)) return undefined;
    e.code = "invalid_argument";
    return encoder.encode(JSON.stringify(parsed));
  } catch {
    return undefined;
  }
}

/** One envelope (flags, length, data): an end-of-stream (Connect, 0x02) or trailer (gRPC-Web, 0x80) one is rewritten. */
function rewriteEnvelope(chunk: Uint8Array): Uint8Array {
  const flags = chunk[0] ?? 0;
  if (chunk.length < 5 || (flags & 0x82) === 0) return chunk;
  const data = chunk.subarray(5);
  let out: Uint8Array | undefined;
  if (flags & 0x02) out = rewriteJsonError(data);
  else {
    const text = decoder.decode(data);
    if (new RegExp(`grpc-status: *${Code.Internal}\\b`, "i").test(text) && decodeURIComponent(text).includes(parseBinary)) {
      out = encoder.encode(text.replace(/grpc-status: *\d+/i, `grpc-status: ${Code.InvalidArgument}`));
    }
  }
  if (!out) return chunk;
  const envelope = new Uint8Array(5 + out.length);
  envelope[0] = flags;
  new DataView(envelope.buffer).setUint32(1, out.length);
  envelope.set(out, 5);
  return envelope;
}
