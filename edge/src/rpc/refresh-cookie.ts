import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type UnaryResponse } from "@connectrpc/connect";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";

/**
 * The request header a browser app sends on AuthService's Signup, Login, Refresh and Logout to
 * keep its refresh token in an HttpOnly cookie instead of in JavaScript. A custom header cannot be
 * sent cross-origin without a CORS preflight, which the edge never grants with credentials.
 */
export const refreshCookieHeader = "x-refresh-cookie";

/** Name of the cookie that carries the refresh token. */
export const refreshCookieName = "shopmesh_refresh";

/** The cookie goes back only with calls to AuthService, never with other requests. */
const cookiePath = `/${AuthService.typeName}/`;

const sessionMethods = new Set(["Signup", "Login", "Refresh", "Logout"]);

export interface RefreshCookieOptions {
  /** Max-Age of the cookie; auth decides when the token itself expires. Default 30 days. */
  readonly maxAgeS?: number;
}

/**
 * The edge's side of browser sessions (a Connect server interceptor). When a call to Signup,
 * Login, Refresh or Logout carries `x-refresh-cookie: 1`:
 * - the refresh token of the answer is moved into an HttpOnly, Secure, SameSite=Strict cookie
 *   scoped to AuthService's path, and blanked in the message, so page scripts never see it
 *   (browsers keep Secure cookies from loopback hosts over plain http too: localhost is a secure
 *   context);
 * - Refresh and Logout with an empty refresh_token take it from that cookie;
 * - Logout, and a Refresh that is refused, clear the cookie;
 * - the call is refused (PERMISSION_DENIED) unless it comes from the edge's own origin
 *   (`Sec-Fetch-Site`, else `Origin` against `Host`): no cross-site sign-in or refresh.
 * Without the header these methods behave as for any other client (tokens in the message).
 */
export function refreshCookieInterceptor(opts: RefreshCookieOptions = {}): Interceptor {
  const maxAgeS = opts.maxAgeS ?? 30 * 24 * 3600;
  return (next) => async (req) => {
    if (req.stream || req.service.typeName !== AuthService.typeName || !sessionMethods.has(req.method.name)) return next(req);
    if (req.header.get(refreshCookieHeader) !== "1") return next(req);
    requireSameOrigin(req.header);
    const clear = cookie("", 0);
    const name = req.method.name;
    let message = req.message as MessageShape<DescMessage> & { refreshToken?: string };
    if ((name === "Refresh" || name === "Logout") && message.refreshToken === "") {
      const fromCookie = readCookie(req.header.get("cookie"), refreshCookieName);
      if (fromCookie === undefined) {
        if (name === "Logout") {
          // Signed out already: nothing to revoke, nothing to ask auth.
          return {
            stream: false,
            service: req.service,
            method: req.method,
            header: new Headers({ "set-cookie": clear }),
            trailer: new Headers(),
            message: create(req.method.output),
          } as UnaryResponse;
        }
        throw new ConnectError("no session: sign in", Code.Unauthenticated);
      }
      message = { ...message, refreshToken: fromCookie };
    }
    let res: UnaryResponse;
    try {
      res = (await next({ ...req, message })) as UnaryResponse;
    } catch (err) {
      if (name !== "Login" && name !== "Signup") {
        const e = ConnectError.from(err);
        if (e.code === Code.Unauthenticated || name === "Logout") e.metadata.set("set-cookie", clear);
        throw e;
      }
      throw err;
    }
    const out = res.message as MessageShape<DescMessage> & { refreshToken?: string };
    if (name === "Logout") {
      res.header.set("set-cookie", clear);
      return res;
    }
    if (!out.refreshToken) return res;
    res.header.set("set-cookie", cookie(out.refreshToken, maxAgeS));
    return { ...res, message: { ...out, refreshToken: "" } };
  };
}

function cookie(value: string, maxAgeS: number): string {
  return `${refreshCookieName}=${encodeURIComponent(value)}; Path=${cookiePath}; Max-Age=${maxAgeS}; HttpOnly; Secure; SameSite=Strict`;
}

/** The value of one cookie of a Cookie header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    if (value === "") return undefined;
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function requireSameOrigin(header: Headers): void {
  const site = header.get("sec-fetch-site");
  if (site !== null) {
    if (site === "same-origin") return;
    throw new ConnectError("session calls must come from the shop's own pages", Code.PermissionDenied);
  }
  const origin = header.get("origin");
  if (origin === null) return; // not a browser: a cookie only comes back from one that stored it
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    host = "";
  }
  if (host === "" || host !== (header.get("x-forwarded-host") ?? header.get("host"))) {
    throw new ConnectError("session calls must come from the shop's own pages", Code.PermissionDenied);
  }
}
