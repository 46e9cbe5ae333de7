import { Code, createContextKey } from "@connectrpc/connect";
import type { Caller } from "./authenticate.js";
import { edgeRejection, rateLimited } from "../http/errors.js";
import type { AccessRule } from "../rpc/public-surface.js";
import { createRateLimiter, type RateLimiter } from "./rate-limiter.js";
import type { NodeRequest } from "../http/node-http.js";

/** The limits the edge enforces per client and per user (see the edge's config schema). */
export interface ProtectionSettings {
  /** Requests per second per client address, sustained; 0: no limit. */
  readonly EDGE_CLIENT_RATE: number;
  /** Requests a client address may send at once before the sustained rate applies. */
  readonly EDGE_CLIENT_BURST: number;
  /** Calls per second per signed-in user, sustained; 0: no limit. */
  readonly EDGE_USER_RATE: number;
  readonly EDGE_USER_BURST: number;
  /** Sign-ups and sign-ins per minute per client address; 0: no limit. */
  readonly EDGE_CREDENTIALS_RATE_PER_MINUTE: number;
  readonly EDGE_CREDENTIALS_BURST: number;
  /** Open streams per user (per client address for anonymous callers); 0: no limit. */
  readonly EDGE_MAX_STREAMS_PER_USER: number;
  /**
   * Client addresses no rate limit applies to; none by default (loopback is limited like any
   * other address). "none" is ignored: it names no address.
   */
  readonly EDGE_RATE_LIMIT_EXEMPT: readonly string[];
  /** Proxies in front of the edge whose X-Forwarded-For entries name the client; 0 trusts none. */
  readonly EDGE_TRUSTED_PROXY_HOPS: number;
}

export const defaultProtection: ProtectionSettings = {
  EDGE_CLIENT_RATE: 50,
  EDGE_CLIENT_BURST: 100,
  EDGE_USER_RATE: 20,
  EDGE_USER_BURST: 40,
  EDGE_CREDENTIALS_RATE_PER_MINUTE: 10,
  EDGE_CREDENTIALS_BURST: 10,
  EDGE_MAX_STREAMS_PER_USER: 16,
  EDGE_RATE_LIMIT_EXEMPT: [],
  EDGE_TRUSTED_PROXY_HOPS: 0,
};

/** The client address of a Connect call, put there by the edge's request handler. */
export const clientAddressKey = createContextKey<string>("");

export interface Protection {
  /** The client's address: the peer, or the X-Forwarded-For entry the trusted proxies name. */
  clientOf(req: NodeRequest): string;
  /** Before authentication: the per-client limit and, for credential methods, the strict one. */
  admitClient(exposed: AccessRule | undefined, client: string): void;
  /** After authentication: the per-user limit of a verified caller. */
  admitUser(caller: Caller | undefined, client: string): void;
  /**
   * Counts a stream the caller opens and returns its release; refuses with RESOURCE_EXHAUSTED
   * when the caller already has the maximum open.
   */
  openStream(caller: Caller | undefined, client: string): () => void;
}

/** Rate and stream limits of the edge. Every refusal is RESOURCE_EXHAUSTED (429) with Retry-After. */
export function createProtection(settings: ProtectionSettings): Protection {
  const limiter = (perSecond: number, burst: number): RateLimiter | undefined =>
    perSecond > 0 ? createRateLimiter({ ratePerSecond: perSecond, burst: Math.max(1, burst) }) : undefined;
  const perClient = limiter(settings.EDGE_CLIENT_RATE, settings.EDGE_CLIENT_BURST);
  const perUser = limiter(settings.EDGE_USER_RATE, settings.EDGE_USER_BURST);
  const credentials = limiter(settings.EDGE_CREDENTIALS_RATE_PER_MINUTE / 60, settings.EDGE_CREDENTIALS_BURST);
  const exempt = new Set(settings.EDGE_RATE_LIMIT_EXEMPT.filter((a) => a !== "none").map(normalizeAddress));
  const hops = settings.EDGE_TRUSTED_PROXY_HOPS;
  const maxStreams = settings.EDGE_MAX_STREAMS_PER_USER;
  const streams = new Map<string, number>();

  return {
    clientOf(req) {
      const peer = normalizeAddress(req.socket?.remoteAddress ?? "");
      if (hops === 0) return peer;
      const forwarded = req.headers["x-forwarded-for"];
      if (forwarded === undefined) return peer;
      const entries = (Array.isArray(forwarded) ? forwarded.join(",") : forwarded)
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      // Each trusted proxy appended the address it saw; the one `hops` from the end is the client.
      const named = entries[Math.max(0, entries.length - hops)];
      return named === undefined ? peer : normalizeAddress(named);
    },
    admitClient(exposed, client) {
      if (exempt.has(client)) return;
      const key = rateKey(client);
      if (exposed?.rateLimit === "credentials" && credentials) {
        const wait = credentials.take(key);
        if (wait > 0) throw rateLimited(wait, "sign-up and sign-in from this address");
      }
      const wait = perClient?.take(key) ?? 0;
      if (wait > 0) throw rateLimited(wait, "this address");
    },
    admitUser(caller, client) {
      if (caller?.userId === undefined || !perUser || exempt.has(client)) return;
      const wait = perUser.take(caller.userId);
      if (wait > 0) throw rateLimited(wait, "this user");
    },
    openStream(caller, client) {
      if (maxStreams === 0) return () => undefined;
      const key = caller?.userId !== undefined ? `user:${caller.userId}` : `client:${client}`;
      const open = streams.get(key) ?? 0;
      if (open >= maxStreams) {
        throw edgeRejection(`at most ${maxStreams} open streams per user; close one first`, Code.ResourceExhausted);
      }
      streams.set(key, open + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const n = (streams.get(key) ?? 1) - 1;
        if (n <= 0) streams.delete(key);
        else streams.set(key, n);
      };
    },
  };
}

/**
 * The rate-limit key of a client address: an IPv4 address itself, an IPv6 address's /64 (one
 * subscriber gets a whole /64 and can pick any address in it).
 */
export function rateKey(address: string): string {
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.split("%")[0]?.split("::") ?? [""];
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

/** "::ffff:10.0.0.1" (an IPv4 peer of a dual-stack socket) → "10.0.0.1". */
function normalizeAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
