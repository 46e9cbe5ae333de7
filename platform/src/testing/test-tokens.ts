import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { createTokenVerifier, OPERATOR_ROLE, type TokenVerifier } from "../auth/token-verifier.js";
import { uuidv7 } from "../events/envelope.js";

/** Signs access tokens the way auth does (ES256, iss/aud "shopmesh", sub, jti, exp), for tests. */
export interface TestTokenIssuer {
  /** The public key, as auth's GetJwks would list it. */
  readonly jwk: JWK;
  /** A verifier over this issuer's key alone (what a service given a static JWKS would build). */
  readonly verifier: TokenVerifier;
  /** A signed access token for `userId`, valid for `expiresIn` (a jose time span, default "5m"; "-1m" is expired). */
  token(userId: string, opts?: { expiresIn?: string; operator?: boolean; email?: string }): Promise<string>;
  /** gRPC call options carrying `authorization: Bearer <token for userId>` (with an `email` claim when given). */
  as(userId: string, email?: string): Promise<{ metadata: { authorization: string } }>;
  /** gRPC call options carrying the token of an operator (the `operator` role). */
  asOperator(userId?: string): Promise<{ metadata: { authorization: string } }>;
}

export async function createTestTokenIssuer(kid = "test-key"): Promise<TestTokenIssuer> {
  const keys = await generateKeyPair("ES256", { extractable: true });
  const jwk: JWK = { ...(await exportJWK(keys.publicKey)), kid, alg: "ES256", use: "sig" };
  const token = (userId: string, opts: { expiresIn?: string; operator?: boolean; email?: string } = {}) => {
    return new SignJWT({ ...(opts.operator ? { roles: [OPERATOR_ROLE] } : {}), ...(opts.email ? { email: opts.email } : {}) })
      .setProtectedHeader({ alg: "ES256", kid })
      .setSubject(userId)
      .setIssuer("shopmesh")
      .setAudience("shopmesh")
      .setJti(uuidv7())
      .setIssuedAt()
      .setExpirationTime(opts.expiresIn ?? "5m")
      .sign(keys.privateKey);
  };
  return {
    jwk,
    verifier: createTokenVerifier({ jwks: async () => ({ keys: [jwk] }), issuer: "shopmesh", audience: "shopmesh" }),
    token,
    async as(userId, email) {
      return { metadata: { authorization: `Bearer ${await token(userId, email ? { email } : {})}` } };
    },
    async asOperator(userId = "operator-1") {
      return { metadata: { authorization: `Bearer ${await token(userId, { operator: true })}` } };
    },
  };
}
