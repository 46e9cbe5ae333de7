import { randomUUID } from "node:crypto";
import {
  Code,
  ConnectError,
  inTransaction,
  type Logger,
  notFound,
  OPERATOR_ROLE,
  type OutboxRow,
  unauthenticated,
  writeOutbox,
} from "@shopmesh/platform";
import type { JSONWebKeySet } from "jose";
import type { Kysely } from "kysely";
import type { AuthDb, UserRow } from "../db/tables.js";
import {
  findRefreshToken,
  findUserByEmail,
  findUserById,
  grantRole,
  insertRefreshToken,
  insertUser,
  type NewUser,
  lockRefreshToken,
  markRefreshTokenUsed,
  revokeFamily,
} from "../db/auth.repository.js";
import { isOperator, refreshTokenUse, type TokenPair, type User } from "../domain/user.js";
import { userRegistered } from "../events/user-events.js";
import { hashPassword, type ScryptParams, verifyPassword } from "./password.js";
import { hashRefreshToken, newRefreshToken } from "./refresh-token.js";
import { createSigningKeys, type SigningKeys } from "./signing-keys.js";

export interface AuthOptions {
  readonly db: Kysely<AuthDb>;
  readonly logger: Logger;
  readonly issuer: string;
  readonly audience: string;
  readonly accessTtlS: number;
  readonly refreshTtlS: number;
  readonly scrypt: ScryptParams;
  /** How long a signing key signs before its successor takes over, in seconds; 0: never rotates. */
  readonly keyRotationS: number;
  /** How long a successor is published in the JWKS before it signs, in seconds. */
  readonly keyPublishAheadS: number;
  /** Clock of the signing keys and token times, in milliseconds; default Date.now. */
  readonly now?: () => number;
  /** Called right after a transaction that wrote outbox rows committed, with the rows (hands them to the relay). */
  readonly onEventsWritten?: (written: readonly OutboxRow[]) => void;
}

/** The use cases of the auth service. Inputs are already validated and normalised. */
export interface Auth {
  /** Loads (or creates) the signing key. */
  start(): Promise<void>;
  /** Rotates the signing keys when due (see SigningKeys.maintain); the server runs it periodically. */
  maintainKeys(): Promise<void>;
  signup(input: { email: string; password: string; name: string }): Promise<TokenPair>;
  login(input: { email: string; password: string }): Promise<TokenPair>;
  refresh(refreshToken: string): Promise<TokenPair>;
  logout(refreshToken: string): Promise<void>;
  jwks(): Promise<JSONWebKeySet>;
  getUser(id: string): Promise<User>;
  /**
   * Makes `email` an operator: creates the account (created: true) or, after checking its
   * password, gives the existing one the operator role. Idempotent.
   */
  createOperator(input: { email: string; password: string; name: string }): Promise<{ user: User; created: boolean }>;
}

/** One message for every failed sign-in, so that the answer does not tell which part was wrong. */
const BAD_CREDENTIALS = "invalid email or password";
const BAD_REFRESH_TOKEN = "invalid refresh token";
/** How long past the access token lifetime a retired signing key stays published (clock skew, slow replicas). */
export const RETIRED_KEY_SPARE_S = 3600;

export function createAuth(opts: AuthOptions): Auth {
  const { db } = opts;
  const keys: SigningKeys = createSigningKeys({
    db,
    logger: opts.logger,
    claims: { issuer: opts.issuer, audience: opts.audience, ttlS: opts.accessTtlS },
    rotation: {
      intervalMs: opts.keyRotationS * 1000,
      publishAheadMs: opts.keyPublishAheadS * 1000,
      // A retired key keeps verifying tokens until they all expired, with an hour to spare.
      retiredKeyTtlMs: (opts.accessTtlS + RETIRED_KEY_SPARE_S) * 1000,
    },
    now: opts.now,
  });
  // Verified against when the email is unknown, so that both failures take as long.
  let dummyHash: Promise<string> | undefined;

  const issue = async (user: UserRow, refreshToken: string): Promise<TokenPair> => ({
    accessToken: await keys.signAccessToken(user.id, user.roles, user.email),
    refreshToken,
    expiresIn: opts.accessTtlS,
    user: toUser(user),
  });

  const newRefresh = (userId: string, familyId: string) => {
    const token = newRefreshToken();
    return {
      token,
      row: { tokenHash: hashRefreshToken(token), familyId, userId, expiresAt: new Date(Date.now() + opts.refreshTtlS * 1000) },
    };
  };

  /** Inserts a user and its UserRegistered event (plus `more`, in the same transaction). */
  const register = async (user: NewUser, more?: (trx: Kysely<AuthDb>) => Promise<void>): Promise<UserRow> => {
    const { row, written } = await inTransaction(db, async (trx) => {
      const row = await insertUser(trx, user);
      await more?.(trx);
      const written = await writeOutbox(trx, userRegistered(toUser(row)));
      return { row, written };
    });
    opts.onEventsWritten?.(written);
    return row;
  };

  const createOperator: Auth["createOperator"] = async ({ email, password, name }) => {
    const existing = await findUserByEmail(db, email);
    if (!existing) {
      try {
        const row = await register({
          id: randomUUID(),
          email,
          name,
          passwordHash: await hashPassword(password, opts.scrypt),
          roles: [OPERATOR_ROLE],
        });
        opts.logger.info({ user_id: row.id }, "operator account created");
        return { user: toUser(row), created: true };
      } catch (err) {
        // Created by a concurrent call in the meantime: promote it like any existing account.
        if (!(err instanceof ConnectError && err.code === Code.AlreadyExists)) throw err;
        return createOperator({ email, password, name });
      }
    }
    if (!(await verifyPassword(password, existing.password_hash))) throw unauthenticated(BAD_CREDENTIALS);
    const row = isOperator(existing.roles) ? existing : await grantRole(db, existing.id, OPERATOR_ROLE);
    if (row !== existing) opts.logger.info({ user_id: row.id }, "user promoted to operator");
    return { user: toUser(row), created: false };
  };

  return {
    start: () => keys.load(),
    maintainKeys: () => keys.maintain(),

    async signup({ email, password, name }) {
      const id = randomUUID();
      const refresh = newRefresh(id, randomUUID());
      const user = await register({ id, email, name, passwordHash: await hashPassword(password, opts.scrypt) }, async (trx) => {
        await insertRefreshToken(trx, refresh.row);
      });
      return issue(user, refresh.token);
    },

    createOperator,

    async login({ email, password }) {
      const user = await findUserByEmail(db, email);
      if (!user) {
        dummyHash ??= hashPassword("not a password of anyone", opts.scrypt);
        await verifyPassword(password, await dummyHash);
        throw unauthenticated(BAD_CREDENTIALS);
      }
      if (!(await verifyPassword(password, user.password_hash))) throw unauthenticated(BAD_CREDENTIALS);
      const refresh = newRefresh(user.id, randomUUID());
      await insertRefreshToken(db, refresh.row);
      return issue(user, refresh.token);
    },

    async refresh(refreshToken) {
      const now = new Date();
      const outcome = await inTransaction(db, async (trx) => {
        const row = await lockRefreshToken(trx, hashRefreshToken(refreshToken));
        if (!row) return { kind: "refused" } as const;
        const use = refreshTokenUse({ revokedAt: row.revoked_at, expiresAt: row.expires_at, usedAt: row.used_at }, now);
        if (use === "refused") return { kind: "refused" } as const;
        if (use === "reused") {
          // Reuse: whoever holds this token may have stolen it. Sign the whole family out.
          await revokeFamily(trx, row.family_id, now);
          return { kind: "reused", familyId: row.family_id, userId: row.user_id } as const;
        }
        const user = await findUserById(trx, row.user_id);
        if (!user) return { kind: "refused" } as const;
        await markRefreshTokenUsed(trx, row.token_hash, now);
        const next = newRefresh(row.user_id, row.family_id);
        await insertRefreshToken(trx, next.row);
        return { kind: "rotated", user, token: next.token } as const;
      });
      switch (outcome.kind) {
        case "refused":
          throw unauthenticated(BAD_REFRESH_TOKEN);
        case "reused":
          opts.logger.warn({ family_id: outcome.familyId, user_id: outcome.userId }, "refresh token reused: family revoked");
          throw unauthenticated(BAD_REFRESH_TOKEN);
        case "rotated":
          return issue(outcome.user, outcome.token);
        default: {
          const never: never = outcome;
          throw new Error(`unexpected refresh outcome ${JSON.stringify(never)}`);
        }
      }
    },

    async logout(refreshToken) {
      const row = await findRefreshToken(db, hashRefreshToken(refreshToken));
      if (row && row.revoked_at === null) await revokeFamily(db, row.family_id, new Date());
    },

    jwks: () => keys.jwks(),

    async getUser(id) {
      const user = await findUserById(db, id);
      if (!user) throw notFound("user");
      return toUser(user);
    },
  };
}

function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, name: row.name, createdAt: row.created_at, operator: isOperator(row.roles) };
}
