import { invalidArgument, violations } from "@shopmesh/platform";

/**
 * Every request rule of AuthService. Each RPC with fields has one `parseX(req)` that names every
 * bad field in one INVALID_ARGUMENT (one field violation each, proto field names) and returns the
 * narrowed request; handlers call it and check nothing themselves. Passwords and tokens are
 * never echoed back in messages.
 */

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;
const MAX_EMAIL_LENGTH = 254;
const MAX_NAME_LENGTH = 100;
// Issued refresh tokens are 43 characters (256 bits, base64url); the bound leaves room to change that.
const MAX_REFRESH_TOKEN_LENGTH = 256;
// Deliberately loose: one @, something on each side, a dot in the domain, no spaces.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Trimmed and lower-cased: the form emails are stored and looked up in. */
export function normaliseEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

export function parseEmail(field: string, raw: string): string {
  const email = normaliseEmail(raw);
  if (email === "") throw invalidArgument(field, "required");
  if (email.length > MAX_EMAIL_LENGTH) throw invalidArgument(field, `at most ${MAX_EMAIL_LENGTH} characters`);
  if (!EMAIL.test(email)) throw invalidArgument(field, "not an email address");
  return email;
}

/** A new password: 8..256 characters (code points). Never echoed back in messages. */
export function parseNewPassword(field: string, raw: string): string {
  const length = [...raw].length;
  if (length < MIN_PASSWORD_LENGTH) throw invalidArgument(field, `at least ${MIN_PASSWORD_LENGTH} characters`);
  if (length > MAX_PASSWORD_LENGTH) throw invalidArgument(field, `at most ${MAX_PASSWORD_LENGTH} characters`);
  return raw;
}

export function parseName(field: string, raw: string): string {
  const name = raw.trim();
  if (name === "") throw invalidArgument(field, "required");
  if ([...name].length > MAX_NAME_LENGTH) throw invalidArgument(field, `at most ${MAX_NAME_LENGTH} characters`);
  return name;
}

/** A signup request checked field by field: every bad field is named in one INVALID_ARGUMENT. */
export function parseSignup(req: { email: string; password: string; name: string }): { email: string; password: string; name: string } {
  const v = violations();
  const email = v.parse(() => parseEmail("email", req.email), "");
  const password = v.parse(() => parseNewPassword("password", req.password), "");
  const name = v.parse(() => parseName("name", req.name), "");
  v.throwIfAny();
  return { email, password, name };
}

/** A CreateOperator request: signup's rules, the name defaulting to "operator". */
export function parseCreateOperator(req: { email: string; password: string; name: string }): {
  email: string;
  password: string;
  name: string;
} {
  return parseSignup({ ...req, name: req.name.trim() === "" ? "operator" : req.name });
}

/**
 * A login request: both fields given and within signup's bounds. No format checks: a malformed
 * email is just one no user has, and the answer to it is the same as to a wrong password.
 */
export function parseLogin(req: { email: string; password: string }): { email: string; password: string } {
  const v = violations();
  const email = normaliseEmail(req.email);
  if (v.check(email !== "", "email", "required"))
    v.check(email.length <= MAX_EMAIL_LENGTH, "email", `at most ${MAX_EMAIL_LENGTH} characters`);
  if (v.check(req.password !== "", "password", "required")) {
    v.check([...req.password].length <= MAX_PASSWORD_LENGTH, "password", `at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  v.throwIfAny();
  return { email, password: req.password };
}

/**
 * A refresh token as presented: required and of sane length. Its form is not checked further:
 * any other string is one that was never issued, UNAUTHENTICATED for Refresh like an expired one.
 */
export function parseRefreshToken(field: string, raw: string): string {
  if (raw === "") throw invalidArgument(field, "required");
  if (raw.length > MAX_REFRESH_TOKEN_LENGTH) throw invalidArgument(field, `at most ${MAX_REFRESH_TOKEN_LENGTH} characters`);
  return raw;
}

/** Refresh: the refresh token to use up. */
export function parseRefresh(req: { refreshToken: string }): { refreshToken: string } {
  const v = violations();
  const refreshToken = v.parse(() => parseRefreshToken("refresh_token", req.refreshToken), "");
  v.throwIfAny();
  return { refreshToken };
}

/** Logout: a refresh token of the family to revoke; the same rule as Refresh. */
export const parseLogout: (req: { refreshToken: string }) => { refreshToken: string } = parseRefresh;
