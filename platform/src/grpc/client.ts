import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  type CircuitBreakerPolicy,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
} from "cockatiel";
import type { Logger } from "../logger.js";
import type { MeshTls } from "../tls/credentials.js";
import { type BreakerStateName, trackBreaker } from "../telemetry/metrics.js";
import { clientObserver } from "./client-observer.js";
import { currentCall } from "./context.js";
import { grpcChannelOptions } from "./server.js";
import { clientMethodDefinition } from "./service.js";
import { decodeStatusDetails, statusDetailsKey } from "./status-details.js";

export interface CallOptions {
  /** Budget for this call in ms; the caller's remaining budget caps it. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Extra request metadata (e.g. authorization). */
  readonly metadata?: grpc.Metadata | Readonly<Record<string, string>>;
}

export type ClientMethod<M> = M extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? (request: MessageInitShape<I>, opts?: CallOptions) => Promise<MessageShape<O>>
  : M extends { methodKind: "server_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? (request: MessageInitShape<I>, opts?: CallOptions) => AsyncIterable<MessageShape<O>>
    : M extends { methodKind: "client_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? (requests: AsyncIterable<MessageInitShape<I>>, opts?: CallOptions) => Promise<MessageShape<O>>
      : M extends { methodKind: "bidi_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
        ? (requests: AsyncIterable<MessageInitShape<I>>, opts?: CallOptions) => AsyncIterable<MessageShape<O>>
        : never;

/** A typed client of a generated service: one async function per method. */
export type Client<S> = S extends GenService<infer T extends GenServiceMethods> ? { readonly [K in keyof T]: ClientMethod<T[K]> } : never;

export interface ClientOptions {
  readonly logger?: Logger;
  /**
   * The calling service: the `service` label of the client's metrics (call durations, breaker
   * state) and the service its spans belong to. Default: the `service` binding of `logger`;
   * without either the client records no metrics.
   */
  readonly service?: string;
  /** Deadline of unary calls when neither the caller nor an enclosing RPC sets a tighter one. Default 5000 ms. */
  readonly defaultTimeoutMs?: number;
  /** Attempts of an idempotent unary call (first try included). Default 3. */
  readonly maxAttempts?: number;
  /** Consecutive failures (UNAVAILABLE, DEADLINE_EXCEEDED) that open the breaker. Default 5. */
  readonly breakerThreshold?: number;
  /** How long an open breaker fails fast before it lets one trial call through. Default 5000 ms. */
  readonly breakerHalfOpenAfterMs?: number;
  readonly channelOptions?: grpc.ChannelOptions;
  /**
   * Mutual TLS: the client presents this workload's certificate and accepts only a server whose
   * certificate chains to the mesh CA and names `serverWorkload`. Without it the client speaks plaintext.
   */
  readonly tls?: MeshTls;
  /**
   * The workload the server must be, with `tls`. Default: the domain of the service's package
   * (`shop.order.v1.OrderService` → `order`); required for other services (e.g. grpc.health.v1).
   */
  readonly serverWorkload?: string;
}

interface ClientInternals {
  readonly raw: grpc.Client;
  readonly breaker: CircuitBreakerPolicy;
  readonly untrack: () => void;
}

const internals = new WeakMap<object, ClientInternals>();

/** Closes the channel of a client made by createClient. */
export function closeClient(client: object): void {
  const i = internals.get(client);
  i?.untrack();
  i?.raw.close();
}

/** State of a client's circuit breaker: "closed", "open", "half-open" or "isolated". */
export function breakerState(client: object): "closed" | "open" | "half-open" | "isolated" {
  const state = internals.get(client)?.breaker.state;
  return state === undefined ? "closed" : stateName(state);
}

function stateName(state: CircuitState): "closed" | "open" | "half-open" | "isolated" {
  switch (state) {
    case CircuitState.Open:
      return "open";
    case CircuitState.HalfOpen:
      return "half-open";
    case CircuitState.Isolated:
      return "isolated";
    default:
      return "closed";
  }
}

/** Methods that may be sent again without changing the outcome. */
export function isIdempotent(method: DescMethod): boolean {
  return method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN;
}

const retryableCodes = new Set<Code>([Code.Unavailable, Code.Aborted]);
const breakerCodes = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded]);
/**
 * A call given less time than this that runs out of it says more about its caller's hurry than
 * about the target: its DEADLINE_EXCEEDED does not count towards the circuit breaker (otherwise
 * one client asking for 1 ms deadlines would open the breaker for everyone).
 */
const BREAKER_MIN_BUDGET_MS = 1_000;

/**
 * A client for `service` at `address` (host:port) over @grpc/grpc-js. Every unary call carries
 * a deadline (the caller's remaining budget when inside an RPC); idempotent methods are retried
 * on UNAVAILABLE/ABORTED with backoff within that deadline; a circuit breaker per target fails
 * fast with UNAVAILABLE while the target is down (UNAVAILABLE, or DEADLINE_EXCEEDED of a call
 * that had at least a second). Errors are ConnectErrors with gRPC codes.
 */
export function createClient<S extends DescService>(service: S, address: string, opts: ClientOptions = {}): Client<S> {
  const caller = opts.service ?? callerOf(opts.logger);
  const { credentials, channelOptions } = transportOf(service, opts);
  const raw = new grpc.Client(address, credentials, {
    ...grpcChannelOptions,
    ...channelOptions,
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 2_000,
    ...opts.channelOptions,
    interceptors: [clientObserver(caller)],
  });
  /** DEADLINE_EXCEEDED errors of calls given less than BREAKER_MIN_BUDGET_MS. */
  const hurried = new WeakSet<object>();
  const breaker = circuitBreaker(
    handleWhen((e) => e instanceof ConnectError && breakerCodes.has(e.code) && !hurried.has(e)),
    { halfOpenAfter: opts.breakerHalfOpenAfterMs ?? 5_000, breaker: new ConsecutiveBreaker(opts.breakerThreshold ?? 5) },
  );
  breaker.onStateChange((state) =>
    opts.logger?.warn({ target: address, service: service.typeName, state: CircuitState[state] }, "circuit breaker"),
  );
  const retryPolicy = retry(
    handleWhen((e) => e instanceof ConnectError && retryableCodes.has(e.code)),
    { maxAttempts: Math.max(0, (opts.maxAttempts ?? 3) - 1), backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 500 }) },
  );
  const defaultTimeoutMs = opts.defaultTimeoutMs ?? 5_000;
  const client: Record<string, unknown> = {};

  for (const method of service.methods) {
    const def = clientMethodDefinition(method);
    switch (method.methodKind) {
      case "unary": {
        const attempt = (request: unknown, o: CallOptions, deadline: number) =>
          new Promise<unknown>((resolve, reject) => {
            const { metadata, signal } = callEnv(o);
            if (signal?.aborted) return reject(abortError(signal));
            const onAbort = () => call.cancel();
            const call = raw.makeUnaryRequest(
              def.path,
              def.requestSerialize,
              def.responseDeserialize,
              request,
              metadata,
              { deadline },
              (err, res) => {
                signal?.removeEventListener("abort", onAbort);
                if (err) reject(fromServiceError(err));
                else resolve(res);
              },
            );
            signal?.addEventListener("abort", onAbort, { once: true });
          });
        const idempotent = isIdempotent(method);
        client[method.localName] = async (request: unknown, o: CallOptions = {}) => {
          const deadline = deadlineFor(o, defaultTimeoutMs);
          const once = () => {
            if (Date.now() >= deadline) throw new ConnectError("deadline exceeded", Code.DeadlineExceeded);
            const hurry = deadline - Date.now() < BREAKER_MIN_BUDGET_MS;
            return breaker.execute(() =>
              attempt(request, o, deadline).catch((err: unknown) => {
                if (hurry && err instanceof ConnectError && err.code === Code.DeadlineExceeded) hurried.add(err);
                throw err;
              }),
            );
          };
          try {
            return await (idempotent ? retryPolicy.execute(once) : once());
          } catch (err) {
            if (err instanceof BrokenCircuitError) {
              throw new ConnectError(
                `${service.typeName} at ${address} is unavailable (circuit open)`,
                Code.Unavailable,
                undefined,
                undefined,
                err,
              );
            }
            throw err;
          }
        };
        break;
      }
      case "server_streaming":
        client[method.localName] = (request: unknown, o: CallOptions = {}) => {
          const { metadata, signal } = callEnv(o);
          const call = raw.makeServerStreamRequest(
            def.path,
            def.requestSerialize,
            def.responseDeserialize,
            request,
            metadata,
            streamCallOptions(o),
          );
          return readStream(call, signal);
        };
        break;
      case "client_streaming":
        client[method.localName] = (requests: AsyncIterable<unknown>, o: CallOptions = {}) =>
          new Promise<unknown>((resolve, reject) => {
            const { metadata, signal } = callEnv(o);
            const onAbort = () => call.cancel();
            const options = { deadline: deadlineFor(o, defaultTimeoutMs) };
            const call = raw.makeClientStreamRequest(
              def.path,
              def.requestSerialize,
              def.responseDeserialize,
              metadata,
              options,
              (err, res) => {
                signal?.removeEventListener("abort", onAbort);
                if (err) reject(fromServiceError(err));
                else resolve(res);
              },
            );
            signal?.addEventListener("abort", onAbort, { once: true });
            void pump(requests, call);
          });
        break;
      case "bidi_streaming":
        client[method.localName] = (requests: AsyncIterable<unknown>, o: CallOptions = {}) => {
          const { metadata, signal } = callEnv(o);
          const call = raw.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, metadata, streamCallOptions(o));
          void pump(requests, call);
          return readStream(call, signal);
        };
        break;
    }
  }
  const untrack = caller === undefined ? () => undefined : trackBreaker(caller, service.typeName, () => metricState(breaker.state));
  internals.set(client, { raw, breaker, untrack });
  return client as Client<S>;
}

/** The channel credentials of a client: mutual TLS towards the expected workload, or plaintext. */
function transportOf(
  service: DescService,
  opts: ClientOptions,
): { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions } {
  if (!opts.tls) return { credentials: grpc.credentials.createInsecure(), channelOptions: {} };
  const server = opts.serverWorkload ?? workloadOfService(service.typeName);
  if (server === undefined) throw new Error(`${service.typeName}: no serverWorkload given for a mutual TLS client`);
  return { credentials: opts.tls.channelCredentials(server), channelOptions: opts.tls.channelOptions(server) };
}

/** `shop.<domain>.v1.XService` → `<domain>`. */
export function workloadOfService(typeName: string): string | undefined {
  return /^shop\.([a-z][a-z0-9_]*)\.v\d+\.\w+$/.exec(typeName)?.[1];
}

function callerOf(logger: Logger | undefined): string | undefined {
  const bound: unknown = logger?.bindings().service;
  return typeof bound === "string" ? bound : undefined;
}

function metricState(state: CircuitState): BreakerStateName {
  const name = stateName(state);
  return name === "half-open" ? "half_open" : name;
}

/** The deadline of a unary call: its own budget, capped by the enclosing RPC's deadline. */
function deadlineFor(o: CallOptions, defaultTimeoutMs: number): number {
  let deadline = Date.now() + (o.timeoutMs ?? defaultTimeoutMs);
  const parent = currentCall()?.deadline;
  if (parent !== undefined && parent < deadline) deadline = parent;
  return deadline;
}

/** Streams live as long as their consumer wants unless a budget is given or inherited. */
function streamCallOptions(o: CallOptions): grpc.CallOptions {
  const parent = currentCall()?.deadline;
  const own = o.timeoutMs === undefined ? undefined : Date.now() + o.timeoutMs;
  const deadline = own === undefined ? parent : parent === undefined ? own : Math.min(own, parent);
  return deadline === undefined ? {} : { deadline };
}

function callEnv(o: CallOptions): { metadata: grpc.Metadata; signal: AbortSignal | undefined } {
  let metadata: grpc.Metadata;
  if (o.metadata instanceof grpc.Metadata) metadata = o.metadata.clone();
  else {
    metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(o.metadata ?? {})) metadata.set(k, v);
  }
  const parentSignal = currentCall()?.signal;
  const signals = [o.signal, parentSignal].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  return { metadata, signal };
}

function abortError(signal: AbortSignal): ConnectError {
  const reason: unknown = signal.reason;
  return reason instanceof ConnectError ? reason : new ConnectError("call cancelled", Code.Canceled, undefined, undefined, reason);
}

export function fromServiceError(err: grpc.ServiceError): ConnectError {
  const headers = new Headers();
  for (const [k, v] of Object.entries(err.metadata?.getMap() ?? {})) {
    if (typeof v === "string") headers.set(k, v);
  }
  const e = new ConnectError(err.details || err.message, err.code as number as Code, headers, undefined, err);
  e.details.push(...decodeStatusDetails(err.metadata?.get(statusDetailsKey)[0]));
  return e;
}

async function pump(
  requests: AsyncIterable<unknown>,
  call: grpc.ClientWritableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
): Promise<void> {
  try {
    for await (const r of requests) {
      if (call.destroyed || call.writableEnded) return;
      if (!call.write(r)) await new Promise((resolve) => call.once("drain", resolve));
    }
    if (!call.writableEnded) call.end();
  } catch (err) {
    call.cancel();
    throw err;
  }
}

async function* readStream(
  call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
  signal: AbortSignal | undefined,
): AsyncIterable<any> {
  const onAbort = () => call.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const m of call) yield m;
  } catch (err) {
    if (isServiceError(err)) {
      if (err.code === grpc.status.CANCELLED && signal?.aborted) throw abortError(signal);
      throw fromServiceError(err);
    }
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // The consumer stopped early (break/return): cancel the call so the server stops too.
    call.cancel();
  }
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === "number" && "metadata" in err;
}
