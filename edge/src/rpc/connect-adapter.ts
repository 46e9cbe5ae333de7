import type { DescMessage, JsonValue } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
  createConnectRouter,
} from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { encodeEnvelope, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, endStreamFlag, errorFromJson, errorToJson } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { badRequest } from "@shopmesh/platform";
import { violationOfDecodeError } from "./decode-error.js";
import type { NodeRequest, NodeResponse } from "../http/node-http.js";

export interface ConnectAdapterOptions extends ConnectRouterOptions {
  readonly routes: (router: ConnectRouter) => void;
  readonly contextValues?: (req: NodeRequest) => ContextValues;
  /** Answers requests for paths that are no procedure. */
  readonly fallback: (req: NodeRequest, res: NodeResponse) => void;
}

/**
 * connect-node's `connectNodeAdapter`, plus one correction: connect-es refuses a request body
 * that is not the method's message before any interceptor runs, binary as INTERNAL ("parse
 * binary: …", HTTP 500) and JSON as INVALID_ARGUMENT with protobuf-es's message and no details.
 * Both are the caller's mistake: the answer becomes INVALID_ARGUMENT, with a google.rpc.BadRequest
 * field violation when the error names a field (`qty`, `payment.card_number`), as the edge's REST
 * routes answer. It is rewritten in each protocol's error framing before it is written.
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
    const refine = (err: ConnectError) => decodeRefusal(err, handler.method.input);
    handler(uReq)
      .then(async (uRes) => universalResponseToNodeResponse(await refineErrors(uRes, refine), res as never))
      .catch(() => {
        // The response could not be written (the client went away): nothing left to tell anyone.
      });
  };
}

/** The edge's answer for connect-es's refusal of an undecodable request body; undefined for any other error. */
function decodeRefusal(err: ConnectError, input: DescMessage): ConnectError | undefined {
  if (err.code === Code.Internal && err.rawMessage.startsWith("parse binary:"))
    return new ConnectError(err.rawMessage, Code.InvalidArgument);
  if (err.code !== Code.InvalidArgument || err.details.length > 0) return undefined;
  const violation = violationOfDecodeError(input, err.rawMessage);
  return violation && badRequest([violation]);
}

type Refine = (err: ConnectError) => ConnectError | undefined;

/**
 * Applies `refine` to the error of a response: the JSON body of a Connect unary error, the
 * end-stream message of a Connect stream, the trailer message of gRPC-Web, the trailers (or
 * trailers-only headers) of gRPC, which connect-es fills when the body ends.
 */
async function refineErrors(uRes: UniversalServerResponse, refine: Refine): Promise<UniversalServerResponse> {
  const body = uRes.body;
  if (body === undefined || !(Symbol.asyncIterator in body)) return uRes;
  const type = uRes.header?.get("content-type") ?? "";
  // Bodies compressed by connect-es are left as they are: an error is rarely over its 1 KiB threshold.
  if (uRes.status !== 200 && type.startsWith("application/json") && !uRes.header?.has("content-encoding")) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const whole = Buffer.concat(chunks);
    const refined = refineJsonError(parseJson(whole), refine);
    if (!refined) return { ...uRes, body: once(whole) };
    const bytes = encoder.encode(JSON.stringify(errorToJson(refined, undefined)));
    const header = new Headers(uRes.header);
    header.set("content-length", String(bytes.byteLength));
    return { ...uRes, status: codeToHttpStatus(refined.code), header, body: once(bytes) };
  }
  const enveloped = type.startsWith("application/grpc-web") || type.startsWith("application/connect");
  return { ...uRes, body: refineEnvelopes(body, enveloped, [uRes.header, uRes.trailer], refine) };
}

async function* refineEnvelopes(
  body: AsyncIterable<Uint8Array>,
  enveloped: boolean,
  trailers: ReadonlyArray<Headers | undefined>,
  refine: Refine,
): AsyncIterable<Uint8Array> {
  // connect-es joins each envelope (flags, length, data) into a chunk of its own.
  for await (const chunk of body) yield enveloped ? refineEnvelope(chunk, refine) : chunk;
  for (const h of trailers) {
    const err = h && findTrailerError(h);
    const refined = err && refine(err);
    if (h && refined) setTrailerStatus(h, refined);
  }
}

async function* once(chunk: Uint8Array): AsyncIterable<Uint8Array> {
  yield chunk;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}

/** A Connect error as JSON ({"code":…,"message":…,"details":[…]}), refined; undefined when unchanged. */
function refineJsonError(json: unknown, refine: Refine): ConnectError | undefined {
  try {
    return refine(errorFromJson(json as JsonValue, undefined, new ConnectError("not a Connect error")));
  } catch {
    return undefined;
  }
}

/** One uncompressed end-stream (Connect) or trailer (gRPC-Web) envelope with its error refined. */
function refineEnvelope(chunk: Uint8Array, refine: Refine): Uint8Array {
  const flags = chunk[0] ?? 0;
  if (chunk.length < 5 || new DataView(chunk.buffer, chunk.byteOffset).getUint32(1) !== chunk.length - 5) return chunk;
  const data = chunk.subarray(5);
  if (flags === endStreamFlag) {
    const end = parseJson(data) as { error?: unknown } | undefined;
    const refined = end?.error === undefined ? undefined : refineJsonError(end.error, refine);
    return refined ? encodeEnvelope(flags, encoder.encode(JSON.stringify({ ...end, error: errorToJson(refined, undefined) }))) : chunk;
  }
  if (flags === trailerFlag) {
    const trailer = trailerParse(data);
    const err = findTrailerError(trailer);
    const refined = err && refine(err);
    return refined ? encodeEnvelope(flags, trailerSerialize(setTrailerStatus(trailer, refined))) : chunk;
  }
  return chunk;
}
