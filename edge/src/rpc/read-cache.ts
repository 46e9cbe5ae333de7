import { type DescMethod, type Message, toBinary } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type CallOptions, createCounter, ReadCache } from "@shopmesh/platform";
import type { ExposedMethod } from "./public-surface.js";
import type { Upstream, UpstreamMethod } from "./upstreams.js";

/** Default of EDGE_READ_CACHE_SIZE. */
export const DEFAULT_READ_CACHE_SIZE = 1_000;
/** Default of EDGE_READ_CACHE_MAX_AGE_MS. */
export const DEFAULT_READ_CACHE_MAX_AGE_MS = 1_000;

export interface ReadCacheSettings {
  /** Most answers kept per upstream service; 0 turns the cache off. */
  readonly maxEntries: number;
  /** An answer older than this is read again (see ReadCache: answered meanwhile up to twice this age). */
  readonly maxAgeMs: number;
  /**
   * Deadline of a load shared by the callers of one key. None of their signals cancels it: one
   * client going away must not fail the others.
   */
  readonly timeoutMs: number;
  readonly now?: () => number;
}

const lookups = createCounter({
  name: "shopmesh_edge_read_cache_lookups_total",
  help: "Anonymous public reads the edge looked up in its read cache: hit (kept answer), shared (joined a load under way), miss (called the service), by method",
  labelNames: ["service", "method", "result"],
});

/** A unary public method without side effects: its anonymous answers may be kept. */
export function isCachedRead(exposed: ExposedMethod): boolean {
  const { method } = exposed;
  return (
    exposed.access === "public" && method.methodKind === "unary" && method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS
  );
}

/** A method that may change what the service answers: everything not declared NO_SIDE_EFFECTS. */
function mayWrite(method: DescMethod): boolean {
  return method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
}

/**
 * The edge's micro-cache of `upstream`: the answer of an anonymous call (metadata carrying only
 * the request id: no authorization, no fault header) of one of its `exposed` methods that
 * {@link isCachedRead} is kept for `maxAgeMs`, keyed by method and the binary encoding of the
 * request. Calls with other metadata always go to the service. Every call through this edge of
 * a method of the service that may write (not NO_SIDE_EFFECTS, streams aside) clears the
 * service's answers once it ends, failed ones included (a write past its deadline may still have
 * taken effect). Changes the edge does not make (a checkout moving stock, another edge replica)
 * show within twice `maxAgeMs`. Returns `upstream` itself when the cache is off.
 */
export function withReadCache(upstream: Upstream, exposed: readonly ExposedMethod[], settings: ReadCacheSettings): Upstream {
  if (settings.maxEntries <= 0) return upstream;
  const cache = new ReadCache<unknown>({ maxEntries: settings.maxEntries, maxAgeMs: settings.maxAgeMs, now: settings.now });
  const cached = new Set(
    exposed.filter((m) => m.service.typeName === upstream.service.typeName && isCachedRead(m)).map((m) => m.method.localName),
  );
  const wrapped = new Map<string, UpstreamMethod>();

  const read = (method: DescMethod, call: UpstreamMethod): UpstreamMethod => {
    const labels = { service: upstream.service.typeName, method: method.name };
    return (request, opts = {}) => {
      if (!isAnonymous(opts)) return call(request, opts);
      const key = `${method.name}:${Buffer.from(toBinary(method.input, request as Message)).toString("latin1")}`;
      const { value, result } = cache.lookup(
        key,
        () => call(request, { timeoutMs: settings.timeoutMs, metadata: opts.metadata }) as Promise<unknown>,
      );
      lookups.inc({ ...labels, result });
      return untilAborted(value, opts.signal);
    };
  };

  const write =
    (call: UpstreamMethod): UpstreamMethod =>
    (request, opts) =>
      (call(request, opts) as Promise<unknown>).finally(() => cache.clear());

  return {
    service: upstream.service,
    address: upstream.address,
    health: (timeoutMs) => upstream.health(timeoutMs),
    close: () => upstream.close(),
    method(localName) {
      let m = wrapped.get(localName);
      if (m) return m;
      const call = upstream.method(localName);
      const method = upstream.service.methods.find((x) => x.localName === localName);
      if (method && cached.has(localName)) m = read(method, call);
      else if (method && mayWrite(method) && (method.methodKind === "unary" || method.methodKind === "client_streaming")) m = write(call);
      else m = call;
      wrapped.set(localName, m);
      return m;
    },
  };
}

/** True when the call carries no metadata but its request id (no credentials, no fault to inject). */
function isAnonymous(opts: CallOptions): boolean {
  const md = opts.metadata;
  // A grpc.Metadata object has keys of its own: it never counts as anonymous.
  return md === undefined || Object.keys(md).every((name) => name === "x-request-id");
}

/** `value`, or the reason of `signal` once it aborts first (the load itself goes on for the others). */
function untilAborted<T>(value: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return value;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    value.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function abortError(signal: AbortSignal): ConnectError {
  const reason: unknown = signal.reason;
  return reason instanceof ConnectError ? reason : new ConnectError("the call was cancelled", Code.Canceled, undefined, undefined, reason);
}
