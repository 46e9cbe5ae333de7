import { once } from "node:events";
import type { Readable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { Health } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { toRpcError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { CallContext } from "./context.js";
import { chainInterceptors, defaultInterceptors, type ServerInterceptor } from "./interceptors.js";
import { HealthRegistry, ServingStatus } from "./health.js";
import { ReflectionIndex } from "./reflection.js";
import { decodeRequest, serverMethodDefinition, type ServiceRegistration } from "./service.js";

/** Options that make grpc-js cheaper per call; we do our own retries and need no channelz. */
export const grpcChannelOptions = {
  "grpc.enable_channelz": 0,
  "grpc.enable_retries": 0,
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
} as const;

export interface GrpcServerOptions {
  /** Name used in logs. */
  readonly name: string;
  /** Interface to listen on; "127.0.0.1" in embedded mode, "0.0.0.0" in distributed mode. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  readonly services: readonly ServiceRegistration[];
  readonly logger: Logger;
  /** Interceptors run inside the default ones (logging → error mapping → deadlines → these). */
  readonly interceptors?: readonly ServerInterceptor[];
  /** How long `stop()` waits for in-flight unary calls before closing hard. Default 10 s. */
  readonly shutdownGraceMs?: number;
  /** Largest request message accepted, in bytes. Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
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
  const inFlight = new Set<Promise<unknown>>();
  const healthNames = ["", ...opts.services.map((s) => s.service.typeName)];
  const health = new HealthRegistry(healthNames);
  const interceptors = [...defaultInterceptors, ...(opts.interceptors ?? [])];
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
        log: log.child({ rpc: `${service.typeName}/${method.name}` }),
        interceptors,
        shutdown: shutdown.signal,
        track: (p) => {
          inFlight.add(p);
          const done = () => inFlight.delete(p);
          p.then(done, done);
        },
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
      port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        );
      });
      setServing(true);
      log.info({ port }, "grpc server listening");
      return port;
    },
    async stop() {
      setServing(false);
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
  track(p: Promise<unknown>): void;
}

type AnyCall =
  | grpc.ServerUnaryCall<Buffer, unknown>
  | grpc.ServerReadableStream<Buffer, unknown>
  | grpc.ServerWritableStream<Buffer, unknown>
  | grpc.ServerDuplexStream<Buffer, unknown>;

function adaptHandler(method: DescMethod, handler: AnyHandler, o: AdaptOptions): grpc.UntypedHandleCall {
  const newContext = (call: AnyCall): { ctx: CallContext; done(): void } => {
    const ac = new AbortController();
    const d = call.getDeadline();
    const deadline = d instanceof Date ? d.getTime() : Number.isFinite(d) ? d : undefined;
    let timer: NodeJS.Timeout | undefined;
    if (deadline !== undefined) {
      timer = setTimeout(() => ac.abort(new ConnectError("deadline exceeded", Code.DeadlineExceeded)), Math.max(0, deadline - Date.now()));
    }
    const onCancel = () => ac.abort(new ConnectError("cancelled by the caller", Code.Canceled));
    const events = call as unknown as NodeJS.EventEmitter;
    events.on("cancelled", onCancel);
    const onShutdown = () => ac.abort(o.shutdown.reason);
    if (o.shutdown.aborted) onShutdown();
    else o.shutdown.addEventListener("abort", onShutdown, { once: true });
    const ctx: CallContext = { method, metadata: call.metadata, deadline, signal: ac.signal, log: o.log, peer: call.getPeer() };
    return {
      ctx,
      done() {
        clearTimeout(timer);
        events.off("cancelled", onCancel);
        o.shutdown.removeEventListener("abort", onShutdown);
      },
    };
  };

  const run = (call: AnyCall, inner: (ctx: CallContext) => Promise<unknown>): Promise<unknown> => {
    const { ctx, done } = newContext(call);
    const p = chainInterceptors(o.interceptors, inner)(ctx).finally(done);
    o.track(p);
    return p;
  };

  const output = (m: unknown) => create(method.output, m as MessageInitShape<DescMessage>);

  switch (method.methodKind) {
    case "unary":
      return ((call: grpc.ServerUnaryCall<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        run(call, async (ctx) => output(await handler(decodeRequest(method, call.request), ctx))).then(
          (res) => callback(null, res),
          (err) => callback(toStatus(err)),
        );
      }) as grpc.handleUnaryCall<Buffer, unknown>;
    case "client_streaming":
      return ((call: grpc.ServerReadableStream<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        run(call, async (ctx) => output(await handler(decodeStream(method, call, ctx.signal), ctx))).then(
          (res) => callback(null, res),
          (err) => callback(toStatus(err)),
        );
      }) as grpc.handleClientStreamingCall<Buffer, unknown>;
    case "server_streaming":
      return ((call: grpc.ServerWritableStream<Buffer, unknown>) => {
        run(call, async (ctx) => {
          await writeAll(call, handler(decodeRequest(method, call.request), ctx) as AsyncIterable<unknown>, ctx.signal, output);
        }).then(
          () => call.end(),
          (err) => endWithError(call, err),
        );
      }) as grpc.handleServerStreamingCall<Buffer, unknown>;
    case "bidi_streaming":
      return ((call: grpc.ServerDuplexStream<Buffer, unknown>) => {
        run(call, async (ctx) => {
          await writeAll(call, handler(decodeStream(method, call, ctx.signal), ctx) as AsyncIterable<unknown>, ctx.signal, output);
        }).then(
          () => call.end(),
          (err) => endWithError(call, err),
        );
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
  return { code: e.code as number as grpc.status, details: e.rawMessage, metadata };
}

function endWithError(call: grpc.ServerWritableStream<Buffer, unknown> | grpc.ServerDuplexStream<Buffer, unknown>, err: unknown): void {
  if (call.cancelled) return;
  call.emit("error", toStatus(err));
}
