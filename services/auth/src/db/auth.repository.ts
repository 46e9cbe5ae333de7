import { withDbErrors } from "@shopmesh/platform";
import { type Kysely, sql } from "kysely";
import type { AuthDb, RefreshTokenRow, SigningKeyRow, UserRow } from "./tables.js";

/** Queries take `db` or a transaction of it as their first parameter. */
type Db = Kysely<AuthDb>;

export interface NewUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly passwordHash: string;
  readonly roles?: readonly string[];
}

/** ALREADY_EXISTS when the email is taken. */
export function insertUser(db: Db, user: NewUser): Promise<UserRow> {
  return withDbErrors(
    () =>
      db
        .insertInto("users")
        .values({ id: user.id, email: user.email, name: user.name, password_hash: user.passwordHash, roles: [...(user.roles ?? [])] })
        .returningAll()
        .executeTakeFirstOrThrow(),
    "user with this email",
  );
}

export function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return withDbErrors(() => db.selectFrom("users").selectAll().where("email", "=", email).executeTakeFirst());
}

/** Adds `role` to the user's roles (no change when they have it); the updated row. */
export function grantRole(db: Db, id: string, role: string): Promise<UserRow> {
  return withDbErrors(() =>
    db
      .updateTable("users")
      .set({ roles: sql<string[]>`case when ${role} = any(roles) then roles else array_append(roles, ${role}) end` })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
}

export function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return withDbErrors(() => db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst());
}

export interface NewRefreshToken {
  readonly tokenHash: string;
  readonly familyId: string;
  readonly userId: string;
  readonly expiresAt: Date;
}

export async function insertRefreshToken(db: Db, token: NewRefreshToken): Promise<void> {
  await withDbErrors(() =>
    db
      .insertInto("refresh_tokens")
      .values({ token_hash: token.tokenHash, family_id: token.familyId, user_id: token.userId, expires_at: token.expiresAt })
      .execute(),
  );
}

/** The token's row, locked until the transaction ends, so one token is used by one Refresh. */
export function lockRefreshToken(db: Db, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  return withDbErrors(() => db.selectFrom("refresh_tokens").selectAll().where("token_hash", "=", tokenHash).forUpdate().executeTakeFirst());
}

export function findRefreshToken(db: Db, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  return withDbErrors(() => db.selectFrom("refresh_tokens").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst());
}

export async function markRefreshTokenUsed(db: Db, tokenHash: string, at: Date): Promise<void> {
  await withDbErrors(() => db.updateTable("refresh_tokens").set({ used_at: at }).where("token_hash", "=", tokenHash).execute());
}

/** Revokes every token of the family not revoked yet. */
export async function revokeFamily(db: Db, familyId: string, at: Date): Promise<void> {
  await withDbErrors(() =>
    db.updateTable("refresh_tokens").set({ revoked_at: at }).where("family_id", "=", familyId).where("revoked_at", "is", null).execute(),
  );
}

/** The keys that sign now or will: the active one and the pending one, if any. */
export function listSigningKeysInUse(db: Db): Promise<SigningKeyRow[]> {
  return withDbErrors(() =>
    db.selectFrom("signing_keys").selectAll().where("retired_at", "is", null).orderBy("signs_from", "desc").execute(),
  );
}

/**
 * ALREADY_EXISTS when the slot is taken: another active key (`active`), or another pending one
 * (not `active`): another replica created it first.
 */
export async function insertSigningKey(
  db: Db,
  key: { kid: string; alg: string; privateJwk: string; publicJwk: string; active: boolean; signsFrom: Date },
): Promise<void> {
  await withDbErrors(
    () =>
      db
        .insertInto("signing_keys")
        .values({
          kid: key.kid,
          alg: key.alg,
          private_jwk: key.privateJwk,
          public_jwk: key.publicJwk,
          active: key.active,
          signs_from: key.signsFrom,
        })
        .execute(),
    "signing key",
  );
}

/** Retires the active key `kid` as of `at`. False when it is not active (another replica retired it first). */
export async function retireActiveSigningKey(db: Db, kid: string, at: Date): Promise<boolean> {
  const res = await withDbErrors(() =>
    db
      .updateTable("signing_keys")
      .set({ active: false, retired_at: at })
      .where("kid", "=", kid)
      .where("active", "=", true)
      .executeTakeFirst(),
  );
  return res.numUpdatedRows > 0n;
}

/** Makes the pending key `kid` the active one (retire the active one first: at most one is active). */
export async function activateSigningKey(db: Db, kid: string): Promise<void> {
  await withDbErrors(() =>
    db.updateTable("signing_keys").set({ active: true }).where("kid", "=", kid).where("retired_at", "is", null).execute(),
  );
}

/** Keys whose tokens may still be valid: the active and pending ones, and those retired after `retiredAfter`. */
export function listPublishedSigningKeys(db: Db, retiredAfter: Date): Promise<Array<Pick<SigningKeyRow, "kid" | "public_jwk">>> {
  return withDbErrors(() =>
    db
      .selectFrom("signing_keys")
      .select(["kid", "public_jwk"])
      .where((eb) => eb.or([eb("retired_at", "is", null), eb("retired_at", ">", retiredAfter)]))
      .orderBy("signs_from", "desc")
      .execute(),
  );
}

/** Deletes the keys retired before `retiredBefore`: every token they signed has expired. */
export async function deleteRetiredSigningKeys(db: Db, retiredBefore: Date): Promise<void> {
  await withDbErrors(() => db.deleteFrom("signing_keys").where("retired_at", "<", retiredBefore).execute());
}
