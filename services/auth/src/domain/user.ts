import { OPERATOR_ROLE } from "@shopmesh/platform";

/** A user as the use cases see it: no database, wire or token types. */
export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly createdAt: Date;
  /** Has the operator role: their access tokens carry it. */
  readonly operator: boolean;
}

/** What a sign-in (Signup, Login, Refresh) gives the user. */
export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Lifetime of the access token in seconds. */
  readonly expiresIn: number;
  readonly user: User;
}

/** Whether a user with `roles` is an operator. */
export function isOperator(roles: readonly string[]): boolean {
  return roles.includes(OPERATOR_ROLE);
}

/** A stored refresh token, as far as using it is concerned. */
export interface RefreshTokenState {
  readonly revokedAt: Date | null;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
}

/**
 * What presenting a stored refresh token at `now` does. A revoked or expired one is `refused`,
 * like a token never issued. One used before is `reused`: whoever holds it may have stolen it,
 * so its whole family is to be signed out. Otherwise it is used up for a new one (`rotate`).
 */
export function refreshTokenUse(token: RefreshTokenState, now: Date): "rotate" | "reused" | "refused" {
  if (token.revokedAt !== null || token.expiresAt <= now) return "refused";
  return token.usedAt !== null ? "reused" : "rotate";
}
