import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Logger } from "@shopmesh/platform";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, SignJWT } from "jose";
import type { Kysely } from "kysely";
import type { AuthDb } from "../db/tables.js";
import { findActiveSigningKey, insertSigningKey, listPublishedSigningKeys } from "./auth.repository.js";

export const SIGNING_ALG = "ES256";

export interface AccessTokenClaims {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlS: number;
}

export interface SigningKeys {
  /** Loads the active key, generating and storing one when the schema has none. */
  load(): Promise<void>;
  /** An access token for `userId` signed with the active key. */
  /** An access token for `userId`, with a `roles` claim when the user has any. */
  signAccessToken(userId: string, roles?: readonly string[]): Promise<string>;
  /** The published public keys (active and recently retired). */
  jwks(): Promise<JSONWebKeySet>;
}

interface ActiveKey {
  readonly kid: string;
  readonly key: Awaited<ReturnType<typeof importJWK>>;
}

/**
 * The keys that sign access tokens, kept in the auth schema so that a restart (or another
 * replica) signs with the same key. Rotation: insert a new key, set the old one's
 * `active = false, retired_at = now()`; it stays in the JWKS for `retiredKeyTtlMs`.
 */
export function createSigningKeys(opts: {
  db: Kysely<AuthDb>;
  logger: Logger;
  claims: AccessTokenClaims;
  /** How long retired keys stay published; at least the access token lifetime. */
  retiredKeyTtlMs: number;
}): SigningKeys {
  const { db, claims } = opts;
  let active: ActiveKey | undefined;

  const activate = async (kid: string, privateJwk: string): Promise<ActiveKey> => {
    const key = await importJWK(JSON.parse(privateJwk) as JWK, SIGNING_ALG);
    active = { kid, key };
    return active;
  };

  const load = async (): Promise<ActiveKey> => {
    const row = await findActiveSigningKey(db);
    if (row) return activate(row.kid, row.private_jwk);
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: "sig" });
    try {
      await insertSigningKey(db, {
        kid,
        alg: SIGNING_ALG,
        privateJwk,
        publicJwk: JSON.stringify({ ...publicJwk, kid, alg: SIGNING_ALG, use: "sig" }),
        active: true,
      });
    } catch (err) {
      // Another replica created the active key first: use that one.
      if (err instanceof ConnectError && err.code === Code.AlreadyExists) {
        const winner = await findActiveSigningKey(db);
        if (winner) return activate(winner.kid, winner.private_jwk);
      }
      throw err;
    }
    opts.logger.info({ kid }, "signing key generated");
    return activate(kid, privateJwk);
  };

  return {
    async load() {
      await load();
    },
    async signAccessToken(userId, roles = []) {
      const { kid, key } = active ?? (await load());
      return new SignJWT(roles.length > 0 ? { roles: [...roles] } : {})
        .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: "JWT" })
        .setIssuer(claims.issuer)
        .setAudience(claims.audience)
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(`${claims.ttlS}s`)
        .setJti(randomUUID())
        .sign(key);
    },
    async jwks() {
      const rows = await listPublishedSigningKeys(db, new Date(Date.now() - opts.retiredKeyTtlMs));
      return { keys: rows.map((r) => JSON.parse(r.public_jwk) as JWK) };
    },
  };
}
