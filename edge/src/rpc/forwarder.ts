import type { DescMethod } from "@bufbuild/protobuf";
import { type ConnectRouter, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { CallOptions, Logger } from "@shopmesh/platform";
import { type AdmissionOptions, admit } from "../protection/admission.js";
import type { Caller } from "../protection/authenticate.js";
import { isServerFault, toPublicError } from "../http/errors.js";
import { clientAddressKey } from "../protection/protection.js";
import type { ExposedMethod } from "./public-surface.js";
import { forwardedMetadata, requestIdOf, type Upstream } from "./upstreams.js";

export interface ForwarderOptions extends AdmissionOptions {
  /** Exposed methods whose service has an upstream. */
  readonly methods: readonly ExposedMethod[];
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** Deadline cap of unary calls (the client's own timeout wins when shorter). */
  readonly requestTimeoutMs: number;
  /** Request headers forwarded as metadata. */
  readonly forwardedHeaders: readonly string[];
  /** Aborted when the edge stops: open streams end with its reason. */
  readonly shutdown: AbortSignal;
  readonly logger: Logger;
}

export interface Forwarder {
  /** Registers one generic forwarding implementation per exposed method. */
  routes(router: ConnectRouter): void;
  /** The admission gate (`admit`) for the called method; every forwarding handler runs it first. */
  gate(ctx: HandlerContext): Promise<Caller | undefined>;
}

/**
 * A descriptor-driven forwarder for the Connect, gRPC-Web and gRPC protocols: every exposed
 * method gets the same generic implementation, which calls the upstream over the platform's
 * grpc-js client with the caller's metadata, deadline and cancellation, and hands back
 * upstream errors with their code (hiding internals). The client address the rate and stream
 * limits count by is the context value `clientAddressKey`.
 */
export function createForwarder(opts: ForwarderOptions): Forwarder {
  const access = new Map<DescMethod, ExposedMethod>(opts.methods.map((m) => [m.method, m]));

  const fail = (ctx: HandlerContext, err: unknown): never => {
    // Once the client's own deadline passed (or it went away), that is the answer, whatever the
    // upstream call's cancellation turned into on the way back.
    const e = toPublicError(ctx.signal.aborted && ctx.signal.reason instanceof ConnectError ? ctx.signal.reason : err);
    const fields = { rpc: `${ctx.service.typeName}/${ctx.method.name}`, protocol: ctx.protocolName, code: e.code };
    if (isServerFault(e.code)) opts.logger.error({ ...fields, err: e.cause ?? e }, "edge call failed");
    else opts.logger.debug({ ...fields, message: e.rawMessage }, "edge call failed");
    throw e;
  };

  const callOptions = (ctx: HandlerContext, streaming: boolean): CallOptions => {
    // The edge's request handler has put the request id on the request (and the response).
    const requestId = requestIdOf(ctx.requestHeader);
    const clientTimeout = ctx.timeoutMs();
    // Streams live as long as the client wants (watch streams are long by design) but end when
    // the edge stops; unary calls always carry a deadline.
    const timeoutMs = streaming ? clientTimeout : Math.min(clientTimeout ?? opts.requestTimeoutMs, opts.requestTimeoutMs);
    return {
      timeoutMs,
      signal: streaming ? AbortSignal.any([ctx.signal, opts.shutdown]) : ctx.signal,
      metadata: forwardedMetadata(ctx.requestHeader, opts.forwardedHeaders, requestId),
    };
  };

  const gate = async (ctx: HandlerContext): Promise<Caller | undefined> => {
    const exposed = access.get(ctx.method);
    // Only exposed methods are routed; this is a second line against a registration slip.
    if (!exposed) return fail(ctx, new Error(`method ${ctx.method.name} is not exposed`));
    try {
      return await admit(opts, exposed, ctx.values.get(clientAddressKey), ctx.requestHeader);
    } catch (err) {
      return fail(ctx, err);
    }
  };

  return {
    gate,
    routes(router) {
      for (const { method } of opts.methods) {
        const upstream = opts.upstreams.get(method.parent.typeName);
        if (!upstream) continue;
        const call = upstream.method(method.localName);
        switch (method.methodKind) {
          case "unary":
            router.rpc(method, (async (request: unknown, ctx: HandlerContext) => {
              await gate(ctx);
              try {
                return await call(request, callOptions(ctx, false));
              } catch (err) {
                return fail(ctx, err);
              }
            }) as never);
            break;
          case "client_streaming":
            router.rpc(method, (async (requests: AsyncIterable<unknown>, ctx: HandlerContext) => {
              await gate(ctx);
              try {
                return await call(requests, callOptions(ctx, false));
              } catch (err) {
                return fail(ctx, err);
              }
            }) as never);
            break;
          case "server_streaming":
            router.rpc(method, async function* (input: unknown, ctx: HandlerContext) {
              const caller = await gate(ctx);
              let release: (() => void) | undefined;
              try {
                release = opts.protection?.openStream(caller, ctx.values.get(clientAddressKey));
                yield* call(input, callOptions(ctx, true)) as AsyncIterable<unknown>;
              } catch (err) {
                fail(ctx, err);
              } finally {
                release?.();
              }
            } as never);
            break;
          case "bidi_streaming":
            router.rpc(method, async function* (input: AsyncIterable<unknown>, ctx: HandlerContext) {
              const caller = await gate(ctx);
              const client = ctx.values.get(clientAddressKey);
              let release: (() => void) | undefined;
              // A message over the caller's rate (each add or remove of a watch counts as a
              // request) ends the stream with that refusal.
              const limited = new AbortController();
              let refusal: unknown;
              const protection = opts.protection;
              const metered = protection
                ? (async function* () {
                    for await (const message of input) {
                      try {
                        protection.admitClient(access.get(ctx.method), client);
                        protection.admitUser(caller, client);
                      } catch (err) {
                        refusal = err;
                        limited.abort(err);
                        return;
                      }
                      yield message;
                    }
                  })()
                : input;
              try {
                release = protection?.openStream(caller, client);
                const options = callOptions(ctx, true);
                const signal = AbortSignal.any([options.signal ?? ctx.signal, limited.signal]);
                yield* call(metered, { ...options, signal }) as AsyncIterable<unknown>;
                if (refusal !== undefined) throw refusal;
              } catch (err) {
                fail(ctx, refusal ?? err);
              } finally {
                release?.();
              }
            } as never);
            break;
        }
      }
    },
  };
}
