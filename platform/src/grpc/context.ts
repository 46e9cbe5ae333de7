import { AsyncLocalStorage } from "node:async_hooks";
import type { DescMethod } from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";

/** The signed-in caller, once a token was verified. */
export interface Principal {
  readonly userId: string;
  readonly tokenId?: string;
  /** Set (true) when the token carries the operator role; absent otherwise. */
  readonly operator?: true;
  /** The email address of the user when the token says it (auth's tokens do; older ones may not). */
  readonly email?: string;
}

/** What a handler knows about the call it serves. */
export interface CallContext {
  readonly method: DescMethod;
  /** Request metadata (headers) as sent by the caller. */
  readonly metadata: Metadata;
  /** Absolute deadline in epoch milliseconds, undefined when the caller set none. */
  readonly deadline: number | undefined;
  /** Aborted when the caller cancels, the deadline passes, or the server shuts down. */
  readonly signal: AbortSignal;
  /** Logger bound to this call (service, method). */
  readonly log: Logger;
  /** Address of the caller. */
  readonly peer: string;
  /**
   * The calling workload, named by the client certificate it presented over mutual TLS;
   * undefined over plaintext or when the certificate names no mesh workload.
   */
  readonly workload?: string | undefined;
  /** Whether the server runs TLS (then every call came over it, with a verified client certificate or none). */
  readonly secure?: boolean;
  /** The verified caller, set by an auth interceptor; undefined for anonymous calls. */
  principal?: Principal;
}

const storage = new AsyncLocalStorage<CallContext>();

/** The context of the RPC being served on this async path, if any (used to propagate deadlines). */
export function currentCall(): CallContext | undefined {
  return storage.getStore();
}

export function runInCall<T>(ctx: CallContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** Milliseconds left before `deadline`, or undefined when there is none. */
export function remainingMs(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : deadline - Date.now();
}
