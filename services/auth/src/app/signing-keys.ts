import { randomUUID } from "node:crypto";
import { Code, ConnectError, inTransaction, type Logger } from "@shopmesh/platform";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, SignJWT } from "jose";
import type { Kysely } from "kysely";
import type { AuthDb, SigningKeyRow } from "../db/tables.js";
import {
  activateSigningKey,
  deleteRetiredSigningKeys,
  insertSigningKey,
  listPublishedSigningKeys,
  listSigningKeysInUse,
  retireActiveSigningKey,
} from "../db/auth.repository.js";

export const SIGNING_ALG = "ES256";

export interface AccessTokenClaims {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlS: number;
}

export interface KeyRotation {
  /** How long a key signs before its successor takes over; 0: never rotates. */
  readonly intervalMs: number;
  /**
   * How long a successor is published in the JWKS before it signs: longer than verifiers cache
   * the key set, so that none meets a token whose key it has not fetched.
   */
  readonly publishAheadMs: number;
  /** How long a retired key stays published: at least the access token lifetime. */
  readonly retiredKeyTtlMs: number;
}

export interface SigningKeys {
  /** Loads the keys in use, generating and storing the first one when the schema has none. */
  load(): Promise<void>;
  /**
   * Rotation, run by every replica from time to time: publishes a successor `publishAheadMs`
   * before the active key's interval ends, hands over to it when its time comes, and deletes
   * the keys retired long enough ago that all their tokens have expired. Idempotent and safe
   * to run on several replicas at once.
   */
  maintain(): Promise<void>;
  /** An access token for `userId` signed with the key whose turn it is, with a `roles` claim when the user has any. */
  /** An access token for `userId`: its roles (when any) and its email address are claims the services read. */
  signAccessToken(userId: string, roles?: readonly string[], email?: string): Promise<string>;
  /** The published public keys: pending, active and recently retired. */
  jwks(): Promise<JSONWebKeySet>;
}

interface LoadedKey {
  readonly kid: string;
  readonly key: Awaited<ReturnType<typeof importJWK>>;
  readonly signsFromMs: number;
}

/**
 * The keys that sign access tokens, kept in the auth schema so that a restart (or another
 * replica) signs with the same key. Each key signs from its `signs_from` on; a replica picks
 * the newest key whose time has come, so all replicas hand over at the same moment whether or
 * not their own `maintain()` has run yet.
 */
export function createSigningKeys(opts: {
  db: Kysely<AuthDb>;
  logger: Logger;
  claims: AccessTokenClaims;
  rotation: KeyRotation;
  /** Clock in milliseconds; default Date.now. */
  now?: () => number;
}): SigningKeys {
  const { db, claims, rotation } = opts;
  const now = opts.now ?? (() => Date.now());
  /** The active and pending keys, newest turn first. */
  let keys: LoadedKey[] = [];

  const newKey = async (signsFrom: Date, active: boolean): Promise<string | undefined> => {
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    try {
      await insertSigningKey(db, {
        kid,
        alg: SIGNING_ALG,
        privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: "sig" }),
        publicJwk: JSON.stringify({ ...publicJwk, kid, alg: SIGNING_ALG, use: "sig" }),
        active,
        signsFrom,
      });
    } catch (err) {
      // Another replica created it first: its key is used.
      if (err instanceof ConnectError && err.code === Code.AlreadyExists) return undefined;
      throw err;
    }
    opts.logger.info({ kid, signs_from: signsFrom.toISOString() }, active ? "signing key generated" : "next signing key published");
    return kid;
  };

  const readInUse = async (): Promise<SigningKeyRow[]> => {
    const rows = await listSigningKeysInUse(db);
    if (rows.some((r) => r.active)) return rows;
    await newKey(new Date(now()), true);
    return listSigningKeysInUse(db);
  };

  const install = async (rows: readonly SigningKeyRow[]): Promise<void> => {
    const loaded: LoadedKey[] = [];
    for (const row of rows) {
      const known = keys.find((k) => k.kid === row.kid);
      loaded.push(
        known ?? {
          kid: row.kid,
          key: await importJWK(JSON.parse(row.private_jwk) as JWK, SIGNING_ALG),
          signsFromMs: row.signs_from.getTime(),
        },
      );
    }
    keys = loaded.sort((a, b) => b.signsFromMs - a.signsFromMs);
  };

  const signer = async (): Promise<LoadedKey> => {
    if (keys.length === 0) await install(await readInUse());
    const t = now();
    // The newest key whose turn has come; before any has (a clock behind the database's), the oldest.
    const key = keys.find((k) => k.signsFromMs <= t) ?? keys.at(-1);
    if (!key) throw new Error("no signing key");
    return key;
  };

  const maintain = async (): Promise<void> => {
    let rows = await readInUse();
    const t = now();
    if (rotation.intervalMs > 0) {
      const active = rows.find((r) => r.active);
      const pending = rows.find((r) => !r.active);
      if (active && pending && pending.signs_from.getTime() <= t) {
        // The successor's turn: the active key retires as of the moment the successor took over.
        const handedOver = await inTransaction(db, async (trx) => {
          if (!(await retireActiveSigningKey(trx, active.kid, pending.signs_from))) return false;
          await activateSigningKey(trx, pending.kid);
          return true;
        });
        if (handedOver) opts.logger.info({ kid: pending.kid, retired: active.kid }, "signing key rotated");
        rows = await readInUse();
      } else if (active && !pending && t >= active.signs_from.getTime() + rotation.intervalMs - rotation.publishAheadMs) {
        // Never less than publishAheadMs ahead, even after a long stop.
        const signsFrom = Math.max(active.signs_from.getTime() + rotation.intervalMs, t + rotation.publishAheadMs);
        await newKey(new Date(signsFrom), false);
        rows = await readInUse();
      }
    }
    await deleteRetiredSigningKeys(db, new Date(t - rotation.retiredKeyTtlMs));
    await install(rows);
  };

  return {
    async load() {
      await install(await readInUse());
    },
    maintain,
    async signAccessToken(userId, roles = [], email) {
      const { kid, key } = await signer();
      const iat = Math.floor(now() / 1000);
      return new SignJWT({ ...(roles.length > 0 ? { roles: [...roles] } : {}), ...(email ? { email } : {}) })
        .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: "JWT" })
        .setIssuer(claims.issuer)
        .setAudience(claims.audience)
        .setSubject(userId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + claims.ttlS)
        .setJti(randomUUID())
        .sign(key);
    },
    async jwks() {
      const rows = await listPublishedSigningKeys(db, new Date(now() - rotation.retiredKeyTtlMs));
      return { keys: rows.map((r) => JSON.parse(r.public_jwk) as JWK) };
    },
  };
}
