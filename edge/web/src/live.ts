import { Code, ConnectError } from "@connectrpc/connect";
import { accessToken, renewAccessToken } from "./session.js";

/** How a live view is connected: "live" once the stream has delivered its first message. */
export type LinkState = "connecting" | "live" | "reconnecting";

export interface LiveOptions<T> {
  /** Opens the stream (a server-streaming call of a generated client). */
  open(signal: AbortSignal): AsyncIterable<T>;
  onMessage(message: T): void;
  onState?(state: LinkState): void;
  /** Whether a stream that ended without error is complete (not reopened). Default: never. */
  complete?(): boolean;
  /** A refusal retrying will not change (not found, invalid, session over): the view stops. */
  onFatal?(err: ConnectError): void;
}

const fatal = new Set([Code.NotFound, Code.InvalidArgument, Code.PermissionDenied, Code.Unimplemented, Code.FailedPrecondition]);
const firstDelayMs = 250;
const maxDelayMs = 4_000;

/**
 * Keeps a server stream open: whenever it fails or ends early (the edge restarted, the network
 * dropped) it is opened again after a short backoff with jitter. The server sends the current
 * state first on every stream, so nothing missed while away stays missing. Returns a stop function.
 */
export function keepLive<T>(opts: LiveOptions<T>): () => void {
  const stop = new AbortController();
  const { signal } = stop;
  void (async () => {
    let delay = firstDelayMs;
    opts.onState?.("connecting");
    while (!signal.aborted) {
      try {
        let first = true;
        for await (const message of opts.open(signal)) {
          if (first) {
            first = false;
            delay = firstDelayMs;
            opts.onState?.("live");
          }
          opts.onMessage(message);
        }
        if (opts.complete?.()) return;
      } catch (err) {
        if (signal.aborted) return;
        const e = ConnectError.from(err);
        if (e.code === Code.Unauthenticated) {
          // The token lapsed while the stream was open: renew it (a failed network call keeps it
          // for the next attempt); no renewal means the session is over.
          const current = await accessToken().catch(() => undefined);
          const renewed = current ? await renewAccessToken(current).catch(() => current) : undefined;
          if (!renewed) {
            opts.onFatal?.(e);
            return;
          }
        } else if (fatal.has(e.code)) {
          opts.onFatal?.(e);
          return;
        }
      }
      if (signal.aborted) return;
      opts.onState?.("reconnecting");
      await sleep(delay * (0.75 + Math.random() / 2), signal);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  })();
  return () => stop.abort();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
