import { createHash, randomBytes } from "node:crypto";

/** A new opaque refresh token: 256 random bits, base64url. */
export function newRefreshToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * What the database keeps of a refresh token. A plain SHA-256 is enough: the token is random
 * with 256 bits of entropy, so there is nothing to brute-force.
 */
export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
