import type { OutboxTable } from "@shopmesh/platform";
import type { Generated, Selectable } from "kysely";

export interface UsersTable {
  id: string;
  /** Normalised (trimmed, lower case); unique. */
  email: string;
  name: string;
  /** `scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>`: the parameters travel with the hash. */
  password_hash: string;
  created_at: Generated<Date>;
}

/**
 * Keys that sign access tokens. One is active; at most one is pending: published ahead of
 * `signs_from`, when it takes over. Retired ones stay published in the JWKS until every token
 * they signed has expired, then are deleted.
 */
export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** The private key as a JWK (JSON). */
  private_jwk: string;
  /** The public key as a JWK (JSON), as published by GetJwks. */
  public_jwk: string;
  active: boolean;
  created_at: Generated<Date>;
  /** When the key starts signing (the active key's is past, a pending key's ahead). */
  signs_from: Date;
  /** When its successor took over; null for the active and the pending key. */
  retired_at: Date | null;
}

/**
 * Refresh tokens, stored as SHA-256 of the opaque token. A family is every token descended
 * from one sign-in; a token is used once (`used_at`), and revoking sets `revoked_at` on the
 * whole family.
 */
export interface RefreshTokensTable {
  token_hash: string;
  family_id: string;
  user_id: string;
  created_at: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export interface AuthDb {
  users: UsersTable;
  signing_keys: SigningKeysTable;
  refresh_tokens: RefreshTokensTable;
  outbox: OutboxTable;
}

export type UserRow = Selectable<UsersTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;
