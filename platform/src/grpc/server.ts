import { once, setMaxListeners } from "node:events";
import type { Readable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { Health } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { toRpcError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { MeshTls } from "../tls/credentials.js";
import { callerWorkload } from "../tls/identity.js";
import type { CallContext } from "./context.js";
import { chainInterceptors, defaultInterceptors, type ServerInterceptor } from "./interceptors.js";
import { HealthRegistry, ServingStatus } from "./health.js";
import { ReflectionIndex } from "./reflection.js";
import { encodeStatusDetails, statusDetailsKey } from "./status-details.js";
import { decodeRequest, serverMethodDefinition, type ServiceRegistration } from "./service.js";

/** Options that make grpc-js cheaper per call; we do our own retries and need no channelz. */
export const grpcChannelOptions = {
  "grpc.enable_channelz": 0,
  "grpc.enable_retries": 0,
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
} as const;

export interface GrpcServerOptions {
  /** The service it serves: the `service` label of its metrics. */
  readonly name: string;
  /** Interface to listen on; "127.0.0.1" in embedded mode, "0.0.0.0" in distributed mode. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  readonly services: readonly ServiceRegistration[];
  readonly logger: Logger;
  /** Interceptors run inside the default ones (observation → error mapping → deadlines → these). */
  readonly interceptors?: readonly ServerInterceptor[];
  /** How long `stop()` waits for in-flight unary calls before closing hard. Default 10 s. */
  readonly shutdownGraceMs?: number;
  /** Largest request message accepted, in bytes. Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /**
   * Mutual TLS: the server presents this workload's certificate and accepts only clients with a
   * certificate chained to the mesh CA (no plaintext). Without it the server speaks plaintext.
   */
  readonly tls?: MeshTls;
}

export interface GrpcServer {
  /** Binds and starts serving; resolves to the bound port. Health turns SERVING. */
  start(): Promise<number>;
  /**
   * Graceful stop: health NOT_SERVING, no new calls, streams told to end, in-flight unary calls
   * drained within the grace period, then the server closes.
   */
  stop(): Promise<void>;
  /** Sets the health of every service (and of the server as a whole, ""). */
  setServing(serving: boolean): void;
  readonly port: number;
  readonly address: string;
}

export function createGrpcServer(opts: GrpcServerOptions): GrpcServer {
  const server = new grpc.Server({
    ...grpcChannelOptions,
    "grpc.max_receive_message_length": opts.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
  });
  const log = opts.logger;
  const shutdown = new AbortController();
  // Every call in flight that looks at its signal listens here until it ends: as many listeners
  // as calls, none left behind (release), so no count of them is a leak.
  setMaxListeners(0, shutdown.signal);
  const inFlight = new Set<Promise<unknown>>();
  const healthNames = ["", ...opts.services.map((s) => s.service.typeName)];
  const health = new HealthRegistry(healthNames);
  const interceptors = [...defaultInterceptors(opts.name), ...(opts.interceptors ?? [])];
  let port = 0;

  const reflection = new ReflectionIndex([...opts.services.map((s) => s.service), Health]);
  for (const { service, handlers } of [...opts.services, health.registration(), ...reflection.registrations()]) {
    const definition: Record<string, grpc.MethodDefinition<Buffer, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of service.methods) {
      const handler = handlers[method.localName];
      if (typeof handler !== "function") throw new Error(`${service.typeName}: no handler for ${method.name}`);
      definition[method.name] = serverMethodDefinition(method);
      implementation[method.name] = adaptHandler(method, handler as AnyHandler, {
        log: log.child({ method: `${service.typeName}/${method.name}` }),
        interceptors,
        shutdown: shutdown.signal,
        inFlight,
        secure: opts.tls !== undefined,
      });
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
  }

  const setServing = (serving: boolean) => health.setAll(serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);

  return {
    get port() {
      return port;
    },
    get address() {
      return `${opts.host ?? "0.0.0.0"}:${port}`;
    },
    setServing,
    async start() {
      const host = opts.host ?? "0.0.0.0";
      // The files are read before binding: a server does not accept connections it cannot secure.
      await opts.tls?.ready();
      const credentials = opts.tls ? opts.tls.serverCredentials() : grpc.ServerCredentials.createInsecure();
      port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${opts.port}`, credentials, (err, p) =>
          err ? reject(err) : resolve(p),
        );
      });
      setServing(true);
      log.info({ port, tls: opts.tls ? "mutual" : "off" }, "grpc server listening");
      return port;
    },
    async stop() {
      setServing(false);
      // One turn of the event loop, so health watchers are sent NOT_SERVING before their
      // streams are ended with the others.
      await new Promise((r) => setImmediate(r));
      shutdown.abort(new ConnectError("server shutting down", Code.Unavailable));
      const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      const grace = opts.shutdownGraceMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => {
          timer = setTimeout(r, grace);
        }),
      ]);
      clearTimeout(timer);
      // Whatever is still open after the grace period is cut. grpc-js does not always close
      // its sessions on forceShutdown (with channelz off it has no list of them), so do not
      // wait for that forever either.
      server.forceShutdown();
      await Promise.race([drained, new Promise((r) => setTimeout(r, 1_000).unref())]);
      log.info("grpc server stopped");
    },
  };
}

type AnyHandler = (input: unknown, ctx: CallContext) => Promise<unknown> | AsyncIterable<unknown>;

interface AdaptOptions {
  log: Logger;
  interceptors: readonly ServerInterceptor[];
  shutdown: AbortSignal;
  inFlight: Set<Promise<unknown>>;
  /** The port speaks TLS: every call came over it. */
  secure: boolean;
}

type AnyCall =
  | grpc.ServerUnaryCall<Buffer, unknown>
  | grpc.ServerReadableStream<Buffer, unknown>
  | grpc.ServerWritableStream<Buffer, unknown>
  | grpc.ServerDuplexStream<Buffer, unknown>;

/** The body of a call, run innermost by the interceptor chain. */
const body = Symbol("body");

/**
 * The context of one served call. Its signal (with the deadline timer and the cancel and shutdown
 * listeners behind it) and its peer are made on first use: most unary handlers never look at
 * them, and a call that finishes without anyone asking costs no timer and no listeners.
 * Interceptors pass this object on (or set `principal` on it); they do not copy it.
 */
class ServerCallContext implements CallContext {
  readonly method: DescMethod;
  readonly metadata: grpc.Metadata;
  readonly deadline: number | undefined;
  readonly log: Logger;
  principal?: CallContext["principal"];
  readonly [body]: (ctx: CallContext) => Promise<unknown>;
  readonly #call: AnyCall;
  readonly #shutdown: AbortSignal;
  readonly #secure: boolean;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #armed = false;

  constructor(method: DescMethod, call: AnyCall, o: AdaptOptions, run: (ctx: CallContext) => Promise<unknown>) {
    this.method = method;
    this.metadata = call.metadata;
    const d = call.getDeadline();
    this.deadline = d instanceof Date ? d.getTime() : Number.isFinite(d) ? d : undefined;
    this.log = o.log;
    this.#call = call;
    this.#shutdown = o.shutdown;
    this.#secure = o.secure;
    this[body] = run;
  }

  get peer(): string {
    return this.#call.getPeer();
  }

  get workload(): string | undefined {
    return callerWorkload(this.#call);
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** Aborted when the caller cancels, the deadline passes, or the server shuts down. */
  get signal(): AbortSignal {
    if (this.#controller) return this.#controller.signal;
    const ac = new AbortController();
    this.#controller = ac;
    // What happened before anyone asked is applied at once; what happens later, by listeners.
    // grpc-js also marks a call whose deadline passed as cancelled: the deadline is the better reason.
    if (this.#shutdown.aborted) ac.abort(this.#shutdown.reason);
    else if (this.deadline !== undefined && this.deadline <= Date.now()) ac.abort(deadlineError());
    else if (this.#call.cancelled) ac.abort(cancelledError());
    else {
      this.#armed = true;
      if (this.deadline !== undefined) {
        this.#timer = setTimeout(() => ac.abort(deadlineError()), this.deadline - Date.now());
      }
      (this.#call as unknown as NodeJS.EventEmitter).on("cancelled", this.#onCancel);
      this.#shutdown.addEventListener("abort", this.#onShutdown, { once: true });
    }
    return ac.signal;
  }

  /** Lets go of the timer and listeners once the call is over. */
  release(): void {
    if (!this.#armed) return;
    this.#armed = false;
    clearTimeout(this.#timer);
    (this.#call as unknown as NodeJS.EventEmitter).off("cancelled", this.#onCancel);
    this.#shutdown.removeEventListener("abort", this.#onShutdown);
  }

  readonly #onCancel = () =>
    this.#controller?.abort(this.deadline !== undefined && this.deadline <= Date.now() ? deadlineError() : cancelledError());
  readonly #onShutdown = () => this.#controller?.abort(this.#shutdown.reason);
}

const deadlineError = () => new ConnectError("deadline exceeded", Code.DeadlineExceeded);
const cancelledError = () => new ConnectError("cancelled by the caller", Code.Canceled);

function adaptHandler(method: DescMethod, handler: AnyHandler, o: AdaptOptions): grpc.UntypedHandleCall {
  // One chain per method; the per-call body travels on the context.
  const chain = chainInterceptors(o.interceptors, (ctx) => (ctx as ServerCallContext)[body](ctx));

  /** Runs the call through the interceptors; resolves to its outcome, never rejects. */
  const run = async (
    call: AnyCall,
    inner: (ctx: CallContext) => Promise<unknown>,
  ): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> => {
    const ctx = new ServerCallContext(method, call, o, inner);
    const p = chain(ctx);
    o.inFlight.add(p);
    try {
      return { ok: true, value: await p };
    } catch (error) {
      return { ok: false, error };
    } finally {
      ctx.release();
      o.inFlight.delete(p);
    }
  };

  const output = (m: unknown) => create(method.output, m as MessageInitShape<DescMessage>);

  switch (method.methodKind) {
    case "unary":
      return (async (call: grpc.ServerUnaryCall<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const r = await run(call, async (ctx) => output(await handler(decodeRequest(method, call.request), ctx)));
        if (r.ok) callback(null, r.value);
        else callback(toStatus(r.error));
      }) as grpc.handleUnaryCall<Buffer, unknown>;
    case "client_streaming":
      return (async (call: grpc.ServerReadableStream<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const r = await run(call, async (ctx) => output(await handler(decodeStream(method, call, ctx.signal), ctx)));
        if (r.ok) callback(null, r.value);
        else callback(toStatus(r.error));
      }) as grpc.handleClientStreamingCall<Buffer, unknown>;
    case "server_streaming":
      return (async (call: grpc.ServerWritableStream<Buffer, unknown>) => {
        const r = await run(call, async (ctx) => {
          await writeAll(call, handler(decodeRequest(method, call.request), ctx) as AsyncIterable<unknown>, ctx.signal, output);
        });
        if (r.ok) call.end();
        else endWithError(call, r.error);
      }) as grpc.handleServerStreamingCall<Buffer, unknown>;
    case "bidi_streaming":
      return (async (call: grpc.ServerDuplexStream<Buffer, unknown>) => {
        const r = await run(call, async (ctx) => {
          await writeAll(call, handler(decodeStream(method, call, ctx.signal), ctx) as AsyncIterable<unknown>, ctx.signal, output);
        });
        if (r.ok) call.end();
        else endWithError(call, r.error);
      }) as grpc.handleBidiStreamingCall<Buffer, unknown>;
  }
}

/**
 * Request messages of a streaming call, decoded; ends when the caller half-closes or the call is
 * aborted. The call is not destroyed: its writable side still has to send the final status.
 */
async function* decodeStream(method: DescMethod, call: Readable, signal: AbortSignal): AsyncIterable<unknown> {
  const iterator = call.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<"aborted">((resolve) => {
    onAbort = () => resolve("aborted");
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    for (;;) {
      const next = iterator.next();
      next.catch(() => undefined);
      const r = await Promise.race([next, aborted]);
      if (r === "aborted" || r.done) return;
      yield decodeRequest(method, r.value as Buffer);
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/** Writes every message, respecting back-pressure; stops when the call is aborted. */
async function writeAll(
  call: grpc.ServerWritableStream<Buffer, unknown> | grpc.ServerDuplexStream<Buffer, unknown>,
  messages: AsyncIterable<unknown>,
  signal: AbortSignal,
  output: (m: unknown) => unknown,
): Promise<void> {
  for await (const m of messages) {
    if (signal.aborted) break;
    if (!call.write(output(m))) {
      await once(call, "drain", { signal }).catch(() => undefined);
    }
  }
  if (signal.aborted) throw signal.reason;
}

function toStatus(err: unknown): Partial<grpc.StatusObject> {
  const e = toRpcError(err);
  const metadata = new grpc.Metadata();
  e.metadata.forEach((value, key) => {
    if (!key.startsWith("grpc-") && !key.endsWith("-bin")) metadata.set(key, value);
  });
  const details = encodeStatusDetails(e);
  if (details !== undefined) metadata.set(statusDetailsKey, details);
  return { code: e.code as number as grpc.status, details: e.rawMessage, metadata };
}

function endWithError(call: grpc.ServerWritableStream<Buffer, unknown> | grpc.ServerDuplexStream<Buffer, unknown>, err: unknown): void {
  if (call.cancelled) return;
  call.emit("error", toStatus(err));
}
