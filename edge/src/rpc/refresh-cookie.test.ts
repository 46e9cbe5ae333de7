import { create, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { describe, expect, it } from "vitest";
import { readCookie, refreshCookieInterceptor } from "./refresh-cookie.js";

type Unary = DescMethodUnary;

interface Outcome {
  /** The request the upstream saw; undefined when it was not called. */
  readonly upstream: UnaryRequest | undefined;
  readonly res?: UnaryResponse;
  readonly err?: ConnectError;
}

/** Runs one call through the interceptor, with an upstream answering `reply` (or throwing it). */
async function call(method: Unary, message: object, headers: Record<string, string>, reply: object | ConnectError = {}): Promise<Outcome> {
  let upstream: UnaryRequest | undefined;
  const next = async (req: UnaryRequest): Promise<UnaryResponse> => {
    upstream = req;
    if (reply instanceof ConnectError) throw reply;
    return {
      stream: false,
      service: method.parent,
      method,
      header: new Headers(),
      trailer: new Headers(),
      message: create(method.output, reply as Record<string, unknown>),
    };
  };
  const req: UnaryRequest = {
    stream: false,
    service: method.parent,
    method,
    requestMethod: "POST",
    url: `http://localhost:8080/${method.parent.typeName}/${method.name}`,
    signal: new AbortController().signal,
    header: new Headers(headers),
    contextValues: createContextValues(),
    message: create(method.input, message as Record<string, unknown>),
  };
  try {
    const res = (await refreshCookieInterceptor({ maxAgeS: 60 })(next as never)(req)) as UnaryResponse;
    return { upstream, res };
  } catch (err) {
    return { upstream, err: ConnectError.from(err) };
  }
}

/** A field of a message the interceptor passed on or answered with. */
const fieldOf = (message: unknown, name: string) => (message as Record<string, unknown> | undefined)?.[name];

const browser = { "x-refresh-cookie": "1", host: "localhost:8080", "sec-fetch-site": "same-origin" };
const tokens = { accessToken: "access", refreshToken: "refresh-1", expiresIn: 900 };
const { signup, refresh, logout } = AuthService.method;

describe("refresh cookie", () => {
  it("moves the refresh token of a sign-up into an HttpOnly cookie scoped to AuthService", async () => {
    const { res } = await call(signup, { email: "a@b.c", password: "p", name: "A" }, browser, tokens);
    expect(fieldOf(res?.message, "refreshToken")).toBe("");
    expect(fieldOf(res?.message, "accessToken")).toBe("access");
    expect(res?.header.get("set-cookie")).toBe(
      "shopmesh_refresh=refresh-1; Path=/shop.auth.v1.AuthService/; Max-Age=60; HttpOnly; Secure; SameSite=Strict",
    );
  });

  it("marks the cookie Secure on every host, loopback over plain http included", async () => {
    for (const headers of [{ host: "shop.example.com" }, { host: "127.0.0.1:8080" }, { host: "[::1]:8080" }, { host: "localhost" }]) {
      const { res } = await call(signup, {}, { ...browser, ...headers }, tokens);
      expect(res?.header.get("set-cookie"), JSON.stringify(headers)).toMatch(/; HttpOnly; Secure; SameSite=Strict$/);
    }
  });

  it("fills an empty refresh token from the cookie and rotates the cookie", async () => {
    const { upstream, res } = await call(
      refresh,
      {},
      { ...browser, cookie: "a=1; shopmesh_refresh=old%2Btoken" },
      { ...tokens, refreshToken: "new" },
    );
    expect(fieldOf(upstream?.message, "refreshToken")).toBe("old+token");
    expect(res?.header.get("set-cookie")).toMatch(/^shopmesh_refresh=new;/);
  });

  it("answers UNAUTHENTICATED without asking auth when there is no cookie, and clears a refused one", async () => {
    const none = await call(refresh, {}, browser);
    expect(none.upstream).toBeUndefined();
    expect(none.err?.code).toBe(Code.Unauthenticated);
    const refused = await call(
      refresh,
      {},
      { ...browser, cookie: "shopmesh_refresh=spent" },
      new ConnectError("revoked", Code.Unauthenticated),
    );
    expect(refused.err?.code).toBe(Code.Unauthenticated);
    expect(refused.err?.metadata.get("set-cookie")).toMatch(/^shopmesh_refresh=; .*Max-Age=0/);
  });

  it("signs out with the cookie's token and clears it; without a cookie there is nothing to revoke", async () => {
    const out = await call(logout, {}, { ...browser, cookie: "shopmesh_refresh=r" });
    expect(fieldOf(out.upstream?.message, "refreshToken")).toBe("r");
    expect(out.res?.header.get("set-cookie")).toMatch(/Max-Age=0/);
    const again = await call(logout, {}, browser);
    expect(again.upstream).toBeUndefined();
    expect(again.res?.header.get("set-cookie")).toMatch(/Max-Age=0/);
  });

  it("refuses cross-site calls", async () => {
    for (const headers of [
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { "sec-fetch-site": undefined, origin: "https://evil.example" },
      { "sec-fetch-site": undefined, origin: "null" },
    ]) {
      const h = Object.fromEntries(
        Object.entries({ ...browser, cookie: "shopmesh_refresh=r", ...headers }).filter(([, v]) => v !== undefined),
      ) as Record<string, string>;
      const { upstream, err } = await call(refresh, {}, h);
      expect(err?.code, JSON.stringify(headers)).toBe(Code.PermissionDenied);
      expect(upstream).toBeUndefined();
    }
    const sameOrigin = { "x-refresh-cookie": "1", host: "localhost:8080", origin: "http://localhost:8080", cookie: "shopmesh_refresh=r" };
    expect((await call(refresh, {}, sameOrigin, tokens)).err).toBeUndefined();
  });

  it("leaves callers without the header, and every other method, as they were", async () => {
    const plain = await call(signup, {}, { host: "localhost:8080" }, tokens);
    expect(fieldOf(plain.res?.message, "refreshToken")).toBe("refresh-1");
    expect(plain.res?.header.get("set-cookie")).toBeNull();
    const other = await call(CatalogService.method.getProduct, { id: "p" }, browser, {});
    expect(other.upstream).toBeDefined();
    expect(other.res?.header.get("set-cookie")).toBeNull();
  });

  it("reads one cookie out of a Cookie header", () => {
    expect(readCookie("a=1; shopmesh_refresh=x%20y; b=2", "shopmesh_refresh")).toBe("x y");
    expect(readCookie("shopmesh_refresh=", "shopmesh_refresh")).toBeUndefined();
    expect(readCookie("shopmesh_refresh=%E0", "shopmesh_refresh")).toBeUndefined();
    expect(readCookie(null, "shopmesh_refresh")).toBeUndefined();
  });
});
