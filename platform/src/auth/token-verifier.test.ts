import { Code, ConnectError } from "@connectrpc/connect";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createTokenVerifier, type JSONWebKeySet } from "./token-verifier.js";

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

type Key = Awaited<ReturnType<typeof keyPair>>;

function sign(key: Key, claims: JWTPayload = {}, header: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: "shopmesh", aud: "shopmesh", sub: "user-1", jti: "token-1", iat: now, exp: now + 900, ...claims })
    .setProtectedHeader({ alg: "ES256", kid: key.kid, ...header })
    .sign(key.privateKey);
}

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

/** A JWKS source that counts its fetches and serves whatever `set` holds at the time. */
function source(initial: JSONWebKeySet) {
  const s = { set: initial, fetches: 0, fail: false };
  const jwks = async () => {
    s.fetches++;
    if (s.fail) throw new Error("auth is down");
    return s.set;
  };
  return { s, jwks };
}

describe("createTokenVerifier", () => {
  it("accepts a good token and returns the principal", async () => {
    const key = await keyPair("k1");
    const v = createTokenVerifier({ jwks: async () => ({ keys: [key.jwk] }), issuer: "shopmesh", audience: "shopmesh" });
    expect(await v.verify(await sign(key))).toEqual({ userId: "user-1", tokenId: "token-1" });
    expect(await v.verify(await sign(key, { email: "ada@example.com" }))).toEqual({
      userId: "user-1",
      tokenId: "token-1",
      email: "ada@example.com",
    });
    // Only a string is an address.
    expect(await v.verify(await sign(key, { email: 42, jti: "token-2" }))).toEqual({ userId: "user-1", tokenId: "token-2" });
  });

  it("refuses wrong iss or aud, missing sub/jti/exp, expiry beyond the skew, and garbage", async () => {
    const key = await keyPair("k1");
    const v = createTokenVerifier({ jwks: async () => ({ keys: [key.jwk] }), issuer: "shopmesh", audience: "shopmesh" });
    const now = Math.floor(Date.now() / 1000);
    expect(await codeOf(v.verify(await sign(key, { iss: "evil" })))).toBe(Code.Unauthenticated);
    expect(await codeOf(v.verify(await sign(key, { aud: "other" })))).toBe(Code.Unauthenticated);
    expect(await codeOf(v.verify(await sign(key, { sub: undefined })))).toBe(Code.Unauthenticated);
    expect(await codeOf(v.verify(await sign(key, { jti: undefined })))).toBe(Code.Unauthenticated);
    expect(await codeOf(v.verify(await sign(key, { exp: undefined })))).toBe(Code.Unauthenticated);
    expect(await codeOf(v.verify(await sign(key, { exp: now - 30 })))).toBe(Code.Unauthenticated);
    // Within the 5 s skew.
    expect(await codeOf(v.verify(await sign(key, { exp: now - 2 })))).toBe("ok");
    expect(await codeOf(v.verify("not.a.token"))).toBe(Code.Unauthenticated);
    expect(await codeOf(v.verify(""))).toBe(Code.Unauthenticated);
  });

  it("refuses alg none, an HMAC token keyed with the public key, and a foreign key", async () => {
    const key = await keyPair("k1");
    const v = createTokenVerifier({ jwks: async () => ({ keys: [key.jwk] }), issuer: "shopmesh", audience: "shopmesh" });
    const good = await sign(key);
    const payload = good.split(".")[1];
    const none = Buffer.from(JSON.stringify({ alg: "none", kid: "k1" })).toString("base64url");
    expect(await codeOf(v.verify(`${none}.${payload}.`))).toBe(Code.Unauthenticated);
    const hmac = await new SignJWT({ sub: "user-1", jti: "j", iss: "shopmesh", aud: "shopmesh", exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .sign(new TextEncoder().encode(JSON.stringify(key.jwk)));
    expect(await codeOf(v.verify(hmac))).toBe(Code.Unauthenticated);
    const other = await keyPair("k1");
    expect(await codeOf(v.verify(await sign(other)))).toBe(Code.Unauthenticated);
  });

  it("accepts a token it verified before until it expires, and not once its key has left the set", async () => {
    const k1 = await keyPair("k1");
    const k2 = await keyPair("k2");
    const { s, jwks } = source({ keys: [k1.jwk] });
    let clock = Date.now();
    const v = createTokenVerifier({ jwks, issuer: "shopmesh", audience: "shopmesh", cacheMs: 1_000, now: () => clock });
    const first = await sign(k1);
    expect(await codeOf(v.verify(first))).toBe("ok");
    expect(await codeOf(v.verify(first))).toBe("ok");
    // k1 rotated out: once the set is fetched again, its tokens are refused, remembered or not.
    s.set = { keys: [k2.jwk] };
    clock += 2_000;
    expect(await codeOf(v.verify(await sign(k2)))).toBe("ok");
    expect(await codeOf(v.verify(first))).toBe(Code.Unauthenticated);

    const exp = Math.floor(clock / 1000) + 60;
    const second = await sign(k2, { jti: "token-2", exp });
    expect(await codeOf(v.verify(second))).toBe("ok");
    // Past exp and the skew: refused as expired, not answered from memory.
    clock = exp * 1000 + 6_000;
    expect(await codeOf(v.verify(second))).toBe(Code.Unauthenticated);
  });

  it("refetches the key set for a remembered token once the set is older than cacheMs, and refuses it if its key is gone", async () => {
    const k1 = await keyPair("k1");
    const k2 = await keyPair("k2");
    const { s, jwks } = source({ keys: [k1.jwk] });
    let clock = Date.now();
    const v = createTokenVerifier({ jwks, issuer: "shopmesh", audience: "shopmesh", cacheMs: 60_000, now: () => clock });
    const token = await sign(k1);
    expect(await codeOf(v.verify(token))).toBe("ok");
    // k1 retired at auth; this verifier sees only the remembered token, well before its exp.
    s.set = { keys: [k2.jwk] };
    clock += 30_000;
    expect(await codeOf(v.verify(token))).toBe("ok");
    expect(s.fetches).toBe(1);
    clock += 31_000;
    expect(await codeOf(v.verify(token))).toBe(Code.Unauthenticated);
    expect(s.fetches).toBe(2);
  });

  it("caches the key set for cacheMs", async () => {
    const key = await keyPair("k1");
    const { s, jwks } = source({ keys: [key.jwk] });
    let now = Date.now();
    const v = createTokenVerifier({ jwks, issuer: "shopmesh", audience: "shopmesh", cacheMs: 60_000, now: () => now });
    const token = await sign(key);
    await Promise.all([v.verify(token), v.verify(token), v.verify(token)]);
    expect(s.fetches).toBe(1);
    now += 61_000;
    await v.verify(await sign(key, { iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 60 }));
    expect(s.fetches).toBe(2);
  });

  it("refetches on an unknown kid (a rotated key), at most once per minRefetchMs", async () => {
    const k1 = await keyPair("k1");
    const k2 = await keyPair("k2");
    const { s, jwks } = source({ keys: [k1.jwk] });
    let now = Date.now();
    const v = createTokenVerifier({ jwks, issuer: "shopmesh", audience: "shopmesh", minRefetchMs: 30_000, now: () => now });
    await v.verify(await sign(k1));
    expect(s.fetches).toBe(1);

    // Made-up kids within the window cost no fetch.
    now += 31_000;
    expect(await codeOf(v.verify(await sign(k2, {}, { kid: "bogus" })))).toBe(Code.Unauthenticated);
    expect(s.fetches).toBe(2);
    expect(await codeOf(v.verify(await sign(k2, {}, { kid: "bogus-2" })))).toBe(Code.Unauthenticated);
    expect(s.fetches).toBe(2);

    // Rotation: auth publishes k2; the next refetch window picks it up.
    s.set = { keys: [k2.jwk, k1.jwk] };
    now += 31_000;
    expect(await v.verify(await sign(k2))).toEqual({ userId: "user-1", tokenId: "token-1" });
    expect(s.fetches).toBe(3);
  });

  it("is UNAVAILABLE without any key set, and keeps a stale one while the source fails", async () => {
    const key = await keyPair("k1");
    const { s, jwks } = source({ keys: [key.jwk] });
    let now = Date.now();
    const v = createTokenVerifier({ jwks, issuer: "shopmesh", audience: "shopmesh", cacheMs: 1_000, now: () => now });
    s.fail = true;
    expect(await codeOf(v.verify(await sign(key)))).toBe(Code.Unavailable);
    s.fail = false;
    expect(await codeOf(v.verify(await sign(key)))).toBe("ok");
    s.fail = true;
    now += 2_000;
    expect(await codeOf(v.verify(await sign(key)))).toBe("ok");
  });
});
