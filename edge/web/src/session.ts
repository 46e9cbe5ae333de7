import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService, type User } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { createStore } from "./store.js";

/**
 * The shopper's session. The access token lives in this module's memory only; the refresh token
 * lives in an HttpOnly cookie the edge sets and reads (edge/src/rpc/refresh-cookie.ts), so no
 * script on the page can read either from storage. A reload restores the session with one Refresh.
 */
export type SessionState =
  | { readonly status: "restoring" }
  | { readonly status: "signed-out"; readonly expired: boolean }
  | { readonly status: "signed-in"; readonly user: User };

export const session = createStore<SessionState>({ status: "restoring" });

/** Asks the edge to keep the refresh token in its cookie (the header also rules out cross-site calls). */
const refreshCookie: Interceptor = (next) => (req) => {
  req.header.set("x-refresh-cookie", "1");
  return next(req);
};

const auth = createClient(
  AuthService,
  createConnectTransport({ baseUrl: window.location.origin, useBinaryFormat: true, interceptors: [refreshCookie] }),
);

/**
 * Whether this browser may hold a refresh cookie (it cannot be read from script). Only a hint,
 * no secret: it saves a doomed Refresh call on every visit of a shopper who never signed in.
 */
const hintKey = "shopmesh.session";

let token: { readonly value: string; readonly expiresAt: number } | undefined;
let refreshing: Promise<string | undefined> | undefined;
/** What to do once the shopper has signed in again (the action a lapsed session interrupted). */
let afterSignIn: (() => Promise<unknown>) | undefined;

interface TokenReply {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly user?: User;
}

function signedIn(reply: TokenReply): void {
  token = { value: reply.accessToken, expiresAt: Date.now() + reply.expiresIn * 1000 };
  localStorage.setItem(hintKey, "1");
  const user = reply.user;
  const current = session.get();
  if (user && !(current.status === "signed-in" && current.user.id === user.id)) session.set({ status: "signed-in", user });
}

function signedOut(expired: boolean): void {
  token = undefined;
  localStorage.removeItem(hintKey);
  session.set({ status: "signed-out", expired });
}

/** Runs `fn` while no other tab of this browser refreshes: the refresh token is single-use. */
function exclusively<T>(fn: () => Promise<T>): Promise<T> {
  return navigator.locks ? (navigator.locks.request("shopmesh-refresh", fn) as Promise<T>) : fn();
}

/** A new access token from the refresh cookie; undefined (and signed out) when the session is over. */
function refresh(expiredIfRefused: boolean): Promise<string | undefined> {
  refreshing ??= (async () => {
    try {
      signedIn(await exclusively(() => auth.refresh({})));
      return token?.value;
    } catch (err) {
      if (ConnectError.from(err).code !== Code.Unauthenticated) throw err;
      signedOut(expiredIfRefused);
      return undefined;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

/** On start: signed in again from the refresh cookie, when there is one. */
export async function restoreSession(): Promise<void> {
  if (localStorage.getItem(hintKey) === null) {
    signedOut(false);
    return;
  }
  try {
    await refresh(false);
  } catch {
    // The edge is unreachable: browse signed out for now; the cookie may still be good.
    session.set({ status: "signed-out", expired: false });
  }
}

/** The access token for a call, renewed shortly before it expires; undefined when signed out. */
export async function accessToken(): Promise<string | undefined> {
  if (refreshing) return refreshing;
  if (!token) return undefined;
  if (token.expiresAt - Date.now() < 30_000) return refresh(true);
  return token.value;
}

/** After the edge refused `rejected`: a renewed token, or undefined when the session has expired. */
export function renewAccessToken(rejected: string): Promise<string | undefined> {
  if (token && token.value !== rejected) return Promise.resolve(token.value);
  return refresh(true);
}

export async function signUp(name: string, email: string, password: string): Promise<void> {
  signedIn(await auth.signup({ name, email, password }));
  await resumeAfterSignIn();
}

export async function signIn(email: string, password: string): Promise<void> {
  signedIn(await auth.login({ email, password }));
  await resumeAfterSignIn();
}

export async function signOut(): Promise<void> {
  afterSignIn = undefined;
  try {
    await auth.logout({});
  } finally {
    signedOut(false);
  }
}

/** Remembers an action to retry once the shopper has signed in (again). */
export function retryAfterSignIn(action: () => Promise<unknown>): void {
  afterSignIn = action;
}

async function resumeAfterSignIn(): Promise<void> {
  const action = afterSignIn;
  afterSignIn = undefined;
  await action?.().catch(() => undefined);
}
