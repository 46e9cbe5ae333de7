import { Code, ConnectError } from "@connectrpc/connect";
import { createLocalJWKSet, decodeProtectedHeader, errors, type JSONWebKeySet, jwtVerify } from "jose";
import { unauthenticated } from "../errors.js";
import type { Principal } from "../grpc/context.js";

export type { JSONWebKeySet } from "jose";

/** Where a verifier gets the keys from, e.g. auth's GetJwks (see {@link createGrpcJwksProvider}). */
export type JwksProvider = () => Promise<JSONWebKeySet>;

export interface TokenVerifierOptions {
  readonly jwks: JwksProvider;
  /** Expected `iss` claim. */
  readonly issuer: string;
  /** Expected `aud` claim. */
  readonly audience: string;
  /** How long a fetched key set is used before it is fetched again. Default 10 minutes. */
  readonly cacheMs?: number;
  /**
   * Least time between two fetches caused by a token whose `kid` the cached set does not know
   * (a rotated key), so that tokens with made-up kids cannot make us hammer auth. Default 30 s.
   */
  readonly minRefetchMs?: number;
  /** Clock skew tolerated on `exp`/`iat`/`nbf`, in seconds. Default 5. */
  readonly clockToleranceS?: number;
  /** Accepted signature algorithms. Default ["ES256"]. */
  readonly algorithms?: readonly string[];
  /**
   * Tokens remembered as verified, so that a token presented again (every request of a session,
   * at the edge and in each service) costs a map look-up instead of an ECDSA verification, for
   * as long as the cached key set is fresh and holds the token's key. Default 10,000.
   */
  readonly maxVerified?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export interface TokenVerifier {
  /**
   * Verifies a compact JWS access token: signature by a key of the set, `iss`, `aud`, `exp`
   * (with a small skew), `sub` and `jti` present; the principal says `operator` when the `roles`
   * claim lists {@link OPERATOR_ROLE}. UNAUTHENTICATED for any bad token;
   * UNAVAILABLE when no key set could be fetched at all.
   */
  verify(token: string): Promise<Principal>;
}

/** The role, in an access token's `roles` claim, of a shop operator (see the `operator` of a CallPolicy). */
export const OPERATOR_ROLE = "operator";

function hasRole(roles: unknown, role: string): boolean {
  return Array.isArray(roles) && roles.includes(role);
}

const DEFAULT_CACHE_MS = 10 * 60_000;
const DEFAULT_MAX_VERIFIED = 10_000;
const DEFAULT_MIN_REFETCH_MS = 30_000;

/** Verifies access tokens locally against a cached JWKS; auth is not called per request. */
export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const cacheMs = opts.cacheMs ?? DEFAULT_CACHE_MS;
  const minRefetchMs = opts.minRefetchMs ?? DEFAULT_MIN_REFETCH_MS;
  const algorithms = [...(opts.algorithms ?? ["ES256"])];
  // The clock is read at each use, not captured: a test that sets the system time is followed.
  const now = opts.now ?? (() => Date.now());

  const maxVerified = opts.maxVerified ?? DEFAULT_MAX_VERIFIED;
  const toleranceMs = (opts.clockToleranceS ?? 5) * 1000;
  /**
   * Tokens verified before, by their whole compact form (signature included, so nothing forged
   * can match), with the principal and until when they hold: their `exp` plus the tolerated skew,
   * and only while the key that signed them is still in the set. Oldest first, for eviction.
   */
  const verified = new Map<string, { principal: Principal; untilMs: number; kid: string | undefined }>();
  let cached: { set: JSONWebKeySet; kids: Set<string>; keys: ReturnType<typeof createLocalJWKSet>; at: number } | undefined;
  let inflight: Promise<NonNullable<typeof cached>> | undefined;
  let lastFetchAt = Number.NEGATIVE_INFINITY;

  const fetchKeys = (): Promise<NonNullable<typeof cached>> => {
    inflight ??= (async () => {
      lastFetchAt = now();
      try {
        const set = await opts.jwks();
        const kids = new Set(set.keys.map((k) => k.kid).filter((k): k is string => typeof k === "string"));
        cached = { set, kids, keys: createLocalJWKSet(set), at: now() };
        return cached;
      } catch (err) {
        // A stale set beats none while auth is away.
        if (cached) return cached;
        throw new ConnectError("token verification keys unavailable", Code.Unavailable, undefined, undefined, err);
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };

  const keysFor = async (kid: string | undefined) => {
    let current = cached && now() - cached.at < cacheMs ? cached : await fetchKeys();
    if (kid !== undefined && !current.kids.has(kid) && now() - lastFetchAt >= minRefetchMs) {
      current = await fetchKeys();
    }
    return current;
  };

  return {
    async verify(token) {
      const known = verified.get(token);
      if (known) {
        const t = now();
        // Only while the key set it was checked against is fresh: a retired key's tokens stop
        // being accepted from memory once the set is refetched without it.
        const set = cached !== undefined && t - cached.at < cacheMs ? cached : undefined;
        if (t <= known.untilMs && set && (known.kid === undefined || set.kids.has(known.kid))) return known.principal;
        verified.delete(token);
      }
      let kid: string | undefined;
      try {
        const header = decodeProtectedHeader(token);
        if (typeof header.alg !== "string" || !algorithms.includes(header.alg)) throw unauthenticated("invalid access token");
        kid = header.kid;
      } catch (err) {
        throw err instanceof ConnectError ? err : unauthenticated("invalid access token");
      }
      const { keys } = await keysFor(kid);
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: opts.issuer,
          audience: opts.audience,
          algorithms,
          clockTolerance: opts.clockToleranceS ?? 5,
          currentDate: new Date(now()),
          requiredClaims: ["exp", "sub", "jti"],
        });
        if (typeof payload.sub !== "string" || payload.sub === "") throw unauthenticated("invalid access token");
        const email = typeof payload.email === "string" && payload.email !== "" ? { email: payload.email } : {};
        const principal: Principal = hasRole(payload.roles, OPERATOR_ROLE)
          ? { userId: payload.sub, tokenId: payload.jti, operator: true, ...email }
          : { userId: payload.sub, tokenId: payload.jti, ...email };
        if (typeof payload.exp === "number") {
          if (verified.size >= maxVerified) verified.delete(verified.keys().next().value as string);
          verified.set(token, { principal, untilMs: payload.exp * 1000 + toleranceMs, kid });
        }
        return principal;
      } catch (err) {
        if (err instanceof ConnectError) throw err;
        if (err instanceof errors.JWTExpired) {
          throw new ConnectError("access token expired", Code.Unauthenticated, undefined, undefined, err);
        }
        if (err instanceof errors.JOSEError) {
          throw new ConnectError("invalid access token", Code.Unauthenticated, undefined, undefined, err);
        }
        throw err;
      }
    },
  };
}
