import { Code, ConnectError } from "@connectrpc/connect";
import type { TokenVerifier } from "@shopmesh/platform";
import type { HeaderReader } from "../http/node-http.js";

/** A caller whose credentials were accepted. */
export interface Caller {
  /** The bearer token as presented; forwarded upstream, where each service verifies it again. */
  readonly token: string;
  /** The user the token stands for, when the authenticator verified it (the token's `sub`). */
  readonly userId?: string;
  /** Whether the verified token carries the operator role; undefined when the authenticator did not verify it. */
  readonly operator?: boolean;
}

/**
 * Decides who is calling. Resolves to undefined when the request carries no credentials, to a
 * Caller when they are acceptable, and throws a ConnectError (UNAUTHENTICATED) when they are
 * present but not acceptable. The edge's admission gate (`admit`) enforces access: a method with
 * access "user" answers UNAUTHENTICATED when this resolves to undefined.
 *
 * `verifyingAuthenticator` checks the JWT against auth's cached JWKS (the edge's default when
 * auth is an upstream); `bearerTokenSyntax` only checks the header's shape.
 */
export type Authenticate = (headers: HeaderReader) => Caller | undefined | Promise<Caller | undefined>;

/** The token of an `Authorization: Bearer <token>` header; throws when the header is malformed. */
export function bearerToken(headers: HeaderReader): string | undefined {
  const value = headers.get("authorization");
  if (value === null || value === "") return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(value);
  if (!m) throw new ConnectError('authorization header must be "Bearer <token>"', Code.Unauthenticated);
  return m[1];
}

/**
 * The default authenticator: accepts any well-formed bearer token without verifying it (each
 * service verifies tokens itself). Replace it with a verifying one once keys are available.
 */
export const bearerTokenSyntax: Authenticate = (headers) => {
  const token = bearerToken(headers);
  return token === undefined ? undefined : { token };
};

/**
 * An authenticator that verifies the bearer JWT locally (signature from auth's cached JWKS,
 * issuer, audience, expiry): a bad token is UNAUTHENTICATED here, before any upstream call.
 */
export function verifyingAuthenticator(verifier: TokenVerifier): Authenticate {
  return async (headers) => {
    const token = bearerToken(headers);
    if (token === undefined) return undefined;
    const principal = await verifier.verify(token);
    return { token, userId: principal.userId, operator: principal.operator === true };
  };
}
