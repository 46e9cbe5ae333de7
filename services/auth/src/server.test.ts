import {
  Code,
  ConnectError,
  closeClient,
  type createClient,
  createEventRegistry,
  createGrpcJwksProvider,
  createInProcessBus,
  createLogger,
  createTokenVerifier,
  type Envelope,
} from "@shopmesh/platform";
import {
  createTestClient,
  forEachBackend,
  pollUntil,
  type TestDatabase,
  useTestDatabase,
  violatedFieldsOf,
  testTlsEnv,
} from "@shopmesh/platform/testing";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { UserRegisteredSchema } from "@shopmesh/proto/shop/auth/v1/events_pb.js";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAuthConfig } from "./config.js";
import { type AuthServer, createAuthServer } from "./index.js";

/**
 * Auth through its public contract: a real server on port 0 over each database backend,
 * called by the platform's typed gRPC client; tokens checked by the platform verifier fed
 * from GetJwks, as every other service does.
 */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const registry = createEventRegistry([UserRegisteredSchema]);
// Small scrypt cost in tests: the default (2^15) is measured in password.test.ts.
const testEnv = { AUTH_SCRYPT_LOG2_N: "10" };

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

const bearer = (token: string) => ({ metadata: { authorization: `Bearer ${token}` } });
let seq = 0;
const uniqueEmail = () => `user${Date.now()}x${seq++}@example.com`;

forEachBackend((backend) => {
  describe(`auth service (${backend.name})`, () => {
    const t: TestDatabase = useTestDatabase(backend);
    const bus = createInProcessBus({ logger });
    const received: Envelope[] = [];
    let service: AuthServer;
    let client: ReturnType<typeof createClient<typeof AuthService>>;

    const start = async () => {
      const s = createAuthServer({
        config: readAuthConfig({ ...testTlsEnv(), DB_SCHEMA: t.schema, ...testEnv }),
        db: t.db,
        logger,
        host: "127.0.0.1",
        port: 0,
        bus,
      });
      await s.start();
      return s;
    };

    beforeAll(async () => {
      bus.subscribe("test", [UserRegisteredSchema.typeName], async (e) => {
        received.push(e);
      });
      service = await start();
      client = createTestClient(AuthService, `127.0.0.1:${service.port}`);
    });

    afterAll(async () => {
      if (client) closeClient(client);
      await service?.stop();
      await bus.close();
    });

    const verifier = () =>
      createTokenVerifier({ jwks: createGrpcJwksProvider(client), issuer: "shopmesh", audience: "shopmesh", cacheMs: 60_000 });

    it("makes an operator idempotently: creates the account, or promotes an existing one whose password matches", async () => {
      const email = uniqueEmail();
      const first = await client.createOperator({ email, password: "operator pass", name: "" });
      expect(first.created).toBe(true);
      expect(first.user).toMatchObject({ email, name: "operator", operator: true });
      const again = await client.createOperator({ email: email.toUpperCase(), password: "operator pass", name: "" });
      expect(again).toMatchObject({ created: false, user: { id: first.user?.id, operator: true } });
      const login = await client.login({ email, password: "operator pass" });
      expect(login.user?.operator).toBe(true);
      expect(decodeJwt(login.accessToken).roles).toEqual(["operator"]);
      expect(await verifier().verify(login.accessToken)).toMatchObject({ userId: first.user?.id, operator: true });

      const shopper = uniqueEmail();
      const signup = await client.signup({ email: shopper, password: "shopper pass", name: "Sam" });
      expect(signup.user?.operator).toBe(false);
      expect(decodeJwt(signup.accessToken).roles).toBeUndefined();
      expect((await verifier().verify(signup.accessToken)).operator).toBeUndefined();
      expect(await codeOf(client.createOperator({ email: shopper, password: "wrong password", name: "" }))).toBe(Code.Unauthenticated);
      const promoted = await client.createOperator({ email: shopper, password: "shopper pass", name: "" });
      expect(promoted).toMatchObject({ created: false, user: { id: signup.user?.id, name: "Sam", operator: true } });
      const relogin = await client.login({ email: shopper, password: "shopper pass" });
      expect(await verifier().verify(relogin.accessToken)).toMatchObject({ operator: true });

      expect(await violatedFieldsOf(client.createOperator({ email: "nope", password: "short", name: "" }))).toEqual(["email", "password"]);
    });

    it("signs up, logs in and refreshes; the tokens verify against GetJwks", async () => {
      const email = uniqueEmail();
      const signup = await client.signup({ email: `  ${email.toUpperCase()} `, password: "correct horse", name: " Ada " });
      expect(signup.user?.email).toBe(email);
      expect(signup.user?.name).toBe("Ada");
      expect(signup.tokenType).toBe("Bearer");
      expect(signup.expiresIn).toBe(900);
      expect(signup.refreshToken).not.toBe("");

      const header = decodeProtectedHeader(signup.accessToken);
      expect(header.alg).toBe("ES256");
      const claims = decodeJwt(signup.accessToken);
      expect(claims).toMatchObject({ iss: "shopmesh", aud: "shopmesh", sub: signup.user?.id });
      expect(claims.exp! - claims.iat!).toBe(900);
      expect(typeof claims.jti).toBe("string");

      const jwks = await client.getJwks({});
      expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
      expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", n: "", e: "" });

      const v = verifier();
      expect(claims.email).toBe(email);
      expect(await v.verify(signup.accessToken)).toEqual({ userId: signup.user?.id, tokenId: claims.jti, email });

      const login = await client.login({ email: email.toUpperCase(), password: "correct horse" });
      expect(login.user?.id).toBe(signup.user?.id);
      expect((await v.verify(login.accessToken)).userId).toBe(signup.user?.id);

      const refreshed = await client.refresh({ refreshToken: login.refreshToken });
      expect(refreshed.refreshToken).not.toBe(login.refreshToken);
      expect(refreshed.user?.id).toBe(signup.user?.id);
      expect((await v.verify(refreshed.accessToken)).userId).toBe(signup.user?.id);

      const me = await client.getMe({}, bearer(refreshed.accessToken));
      expect(me.user?.email).toBe(email);
    });

    it("emits UserRegistered through the outbox", async () => {
      const email = uniqueEmail();
      const res = await client.signup({ email, password: "password1", name: "Grace" });
      await pollUntil(() => received.some((e) => e.key === res.user?.id), { timeoutMs: 2_000, intervalMs: 20 });
      await bus.drain();
      const events = received.filter((e) => e.key === res.user?.id);
      expect(events).toHaveLength(1);
      expect(events[0]!.source).toBe("auth");
      const event = registry.decodeAs(UserRegisteredSchema, events[0]!);
      expect(event).toMatchObject({ userId: res.user?.id, email, name: "Grace" });
    });

    it("refuses a duplicate email, whatever its case and spacing, with ALREADY_EXISTS", async () => {
      const email = uniqueEmail();
      await client.signup({ email, password: "password1", name: "A" });
      expect(await codeOf(client.signup({ email: ` ${email.toUpperCase()}`, password: "password2", name: "B" }))).toBe(Code.AlreadyExists);
    });

    it("validates signup input with INVALID_ARGUMENT naming the field", async () => {
      const attempt = async (req: { email: string; password: string; name: string }) => {
        try {
          await client.signup(req);
        } catch (err) {
          return err as ConnectError;
        }
        throw new Error("expected signup to fail");
      };
      const short = await attempt({ email: uniqueEmail(), password: "1234567", name: "A" });
      expect(short.code).toBe(Code.InvalidArgument);
      expect(short.rawMessage).toMatch(/password/);
      expect(short.rawMessage).not.toMatch(/1234567/);
      const noName = await attempt({ email: uniqueEmail(), password: "password1", name: "  " });
      expect(noName.code).toBe(Code.InvalidArgument);
      expect(noName.rawMessage).toMatch(/name/);
      const badEmail = await attempt({ email: "not-an-email", password: "password1", name: "A" });
      expect(badEmail.code).toBe(Code.InvalidArgument);
      expect(badEmail.rawMessage).toMatch(/email/);
    });

    it("names every bad field of Signup, Login, Refresh and Logout in one INVALID_ARGUMENT; good requests still pass", async () => {
      expect(await violatedFieldsOf(client.signup({ email: "not-an-email", password: "short", name: " " }))).toEqual([
        "email",
        "password",
        "name",
      ]);
      expect(await violatedFieldsOf(client.signup({ email: uniqueEmail(), password: "x".repeat(257), name: "x".repeat(101) }))).toEqual([
        "password",
        "name",
      ]);
      expect(await violatedFieldsOf(client.login({ email: "", password: "" }))).toEqual(["email", "password"]);
      expect(await violatedFieldsOf(client.login({ email: `${"a".repeat(250)}@x.com`, password: "x".repeat(257) }))).toEqual([
        "email",
        "password",
      ]);
      expect(await violatedFieldsOf(client.refresh({ refreshToken: "x".repeat(257) }))).toEqual(["refresh_token"]);
      expect(await violatedFieldsOf(client.logout({ refreshToken: "" }))).toEqual(["refresh_token"]);

      const email = uniqueEmail();
      const signedUp = await client.signup({ email, password: "password1", name: "Ada" });
      const loggedIn = await client.login({ email: ` ${email.toUpperCase()} `, password: "password1" });
      expect(loggedIn.user?.id).toBe(signedUp.user?.id);
      const refreshed = await client.refresh({ refreshToken: loggedIn.refreshToken });
      expect(await codeOf(client.logout({ refreshToken: refreshed.refreshToken }))).toBe("ok");
    });

    it("refuses a bad password and an unknown email alike with UNAUTHENTICATED", async () => {
      const email = uniqueEmail();
      await client.signup({ email, password: "password1", name: "A" });
      const messageOf = async (p: Promise<unknown>) => {
        try {
          await p;
        } catch (err) {
          expect((err as ConnectError).code).toBe(Code.Unauthenticated);
          return (err as ConnectError).rawMessage;
        }
        throw new Error("expected the login to fail");
      };
      const bad = await messageOf(client.login({ email, password: "password2" }));
      const unknown = await messageOf(client.login({ email: uniqueEmail(), password: "password1" }));
      expect(bad).toBe(unknown);
    });

    it("rotates refresh tokens and revokes the family when a used one comes back", async () => {
      const email = uniqueEmail();
      const first = await client.signup({ email, password: "password1", name: "A" });
      const second = await client.refresh({ refreshToken: first.refreshToken });
      const third = await client.refresh({ refreshToken: second.refreshToken });
      // A sign-in elsewhere is another family and is not affected.
      const other = await client.login({ email, password: "password1" });

      // The stolen first token comes back: refused, and the whole family goes.
      expect(await codeOf(client.refresh({ refreshToken: first.refreshToken }))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.refresh({ refreshToken: third.refreshToken }))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.refresh({ refreshToken: other.refreshToken }))).toBe("ok");

      expect(await codeOf(client.refresh({ refreshToken: "no-such-token" }))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.refresh({ refreshToken: "" }))).toBe(Code.InvalidArgument);
    });

    it("logs out by revoking the family; logout is idempotent", async () => {
      const first = await client.signup({ email: uniqueEmail(), password: "password1", name: "A" });
      const second = await client.refresh({ refreshToken: first.refreshToken });
      await client.logout({ refreshToken: first.refreshToken });
      expect(await codeOf(client.refresh({ refreshToken: second.refreshToken }))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.logout({ refreshToken: second.refreshToken }))).toBe("ok");
      expect(await codeOf(client.logout({ refreshToken: "unknown" }))).toBe("ok");
    });

    it("refuses a refresh after logout with UNAUTHENTICATED, for every token of the family", async () => {
      const email = uniqueEmail();
      const first = await client.signup({ email, password: "password1", name: "A" });
      const second = await client.refresh({ refreshToken: first.refreshToken });
      const elsewhere = await client.login({ email, password: "password1" });
      // Logout with the latest token of the session ends the session, not other sign-ins.
      await client.logout({ refreshToken: second.refreshToken });
      expect(await codeOf(client.refresh({ refreshToken: second.refreshToken }))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.refresh({ refreshToken: first.refreshToken }))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.refresh({ refreshToken: elsewhere.refreshToken }))).toBe("ok");
    });

    it("GetMe needs a valid access token", async () => {
      const res = await client.signup({ email: uniqueEmail(), password: "password1", name: "A" });
      expect(await codeOf(client.getMe({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.getMe({}, bearer("garbage")))).toBe(Code.Unauthenticated);
      expect(await codeOf(client.getMe({}, { metadata: { authorization: res.accessToken } }))).toBe(Code.Unauthenticated);
      expect((await client.getMe({}, bearer(res.accessToken))).user?.id).toBe(res.user?.id);
      // Public methods still refuse a bad token rather than ignore it.
      expect(await codeOf(client.getJwks({}, bearer("garbage")))).toBe(Code.Unauthenticated);
    });

    it("refuses expired, foreign-key, tampered and alg:none tokens", async () => {
      const res = await client.signup({ email: uniqueEmail(), password: "password1", name: "A" });
      const { kid } = decodeProtectedHeader(res.accessToken);
      const sub = res.user!.id;
      const v = verifier();
      const refused = async (token: string) => {
        expect(await codeOf(v.verify(token))).toBe(Code.Unauthenticated);
        expect(await codeOf(client.getMe({}, bearer(token)))).toBe(Code.Unauthenticated);
      };

      // Another key, even one claiming the real kid.
      const foreign = await generateKeyPair("ES256");
      const forge = (claims: { exp?: number; iat?: number }, headerKid = kid) =>
        new SignJWT({})
          .setProtectedHeader({ alg: "ES256", kid: headerKid })
          .setIssuer("shopmesh")
          .setAudience("shopmesh")
          .setSubject(sub)
          .setJti("forged")
          .setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000))
          .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 600)
          .sign(foreign.privateKey);
      await refused(await forge({}));
      await refused(await forge({}, "unknown-kid"));

      // Tampered payload: another sub under the original signature.
      const [h, p, s] = res.accessToken.split(".") as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, "base64url").toString());
      const tampered = Buffer.from(JSON.stringify({ ...payload, sub: "00000000-0000-0000-0000-000000000000" })).toString("base64url");
      await refused(`${h}.${tampered}.${s}`);
      // Tampered signature.
      await refused(`${h}.${p}.${s.slice(0, -4)}AAAA`);

      // alg: none, with and without a signature part.
      const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT", kid })).toString("base64url");
      await refused(`${none}.${p}.`);
      await refused(`${none}.${p}`);

      // Expired: a real token seen by a verifier whose clock is past its 900 s lifetime and the skew.
      const expired = await client.signup({ email: uniqueEmail(), password: "password1", name: "B" });
      expect(decodeJwt(expired.accessToken).exp).toBeGreaterThan(Date.now() / 1000);
      const past = createTokenVerifier({
        jwks: createGrpcJwksProvider(client),
        issuer: "shopmesh",
        audience: "shopmesh",
        now: () => Date.now() + 901_000 + 5_000,
      });
      expect(await codeOf(past.verify(expired.accessToken))).toBe(Code.Unauthenticated);
    });

    it("keeps its signing key across a restart: old tokens stay valid", async () => {
      const res = await client.signup({ email: uniqueEmail(), password: "password1", name: "A" });
      const kidBefore = decodeProtectedHeader(res.accessToken).kid;
      await service.stop();
      closeClient(client);
      service = await start();
      client = createTestClient(AuthService, `127.0.0.1:${service.port}`);
      const jwks = await client.getJwks({});
      expect(jwks.keys.map((k) => k.kid)).toEqual([kidBefore]);
      expect((await client.getMe({}, bearer(res.accessToken))).user?.id).toBe(res.user?.id);
      const login = await client.login({ email: res.user!.email, password: "password1" });
      expect(decodeProtectedHeader(login.accessToken).kid).toBe(kidBefore);
      expect(await codeOf(client.refresh({ refreshToken: res.refreshToken }))).toBe("ok");
    });
  });

  describe(`signing key rotation (${backend.name})`, () => {
    const t: TestDatabase = useTestDatabase(backend);
    // The service's clock, moved by the test: rotation needs no waiting.
    let clock = Date.parse("2026-12-01T00:00:00Z");
    let service: AuthServer;
    let client: ReturnType<typeof createClient<typeof AuthService>>;
    // A key signs for 600 s and is published 120 s before; access tokens live 900 s.
    const ttlS = 900;

    beforeAll(async () => {
      service = createAuthServer({
        config: readAuthConfig({
          ...testTlsEnv(),
          DB_SCHEMA: t.schema,
          ...testEnv,
          AUTH_ACCESS_TTL_S: String(ttlS),
          AUTH_KEY_ROTATION_S: "600",
          AUTH_KEY_PUBLISH_AHEAD_S: "120",
        }),
        db: t.db,
        logger,
        host: "127.0.0.1",
        port: 0,
        now: () => clock,
      });
      await service.start();
      client = createTestClient(AuthService, `127.0.0.1:${service.port}`);
    });

    afterAll(async () => {
      if (client) closeClient(client);
      await service?.stop();
    });

    /** Moves the clock and runs the rotation check, as the service's timer does. */
    const advance = async (seconds: number) => {
      clock += seconds * 1000;
      await service.auth.maintainKeys();
    };
    const kids = async () => (await client.getJwks({})).keys.map((k) => k.kid);
    const kidOf = (token: string) => decodeProtectedHeader(token).kid;
    /** A verifier as the edge and the services run it, on its own clock. */
    const verifierAt = (now: () => number) =>
      createTokenVerifier({ jwks: createGrpcJwksProvider(client), issuer: "shopmesh", audience: "shopmesh", cacheMs: 60_000, now });

    it("publishes the next key before it signs, keeps the old one while its tokens live, and drops it after", async () => {
      const email = uniqueEmail();
      const before = await client.signup({ email, password: "password1", name: "A" });
      const oldKid = kidOf(before.accessToken);
      expect(await kids()).toEqual([oldKid]);
      // A verifier that has seen the old key set only.
      const edge = verifierAt(() => clock);
      expect((await edge.verify(before.accessToken)).userId).toBe(before.user?.id);

      // 120 s before the old key's 600 s end: the successor is published and does not sign yet.
      await advance(480);
      const published = await kids();
      expect(published).toHaveLength(2);
      const newKid = published.find((k) => k !== oldKid);
      expect(newKid).toBeDefined();
      const stillOld = await client.login({ email, password: "password1" });
      expect(kidOf(stillOld.accessToken)).toBe(oldKid);
      // A verifier that remembers this token as verified.
      let seen = clock;
      const remembering = verifierAt(() => seen);
      expect((await remembering.verify(stillOld.accessToken)).userId).toBe(before.user?.id);

      // Its turn: new tokens carry the new key, which was in the JWKS before.
      await advance(120);
      const after = await client.login({ email, password: "password1" });
      expect(kidOf(after.accessToken)).toBe(newKid);
      expect(await kids()).toEqual(expect.arrayContaining([oldKid, newKid]));
      // The old key's tokens still verify, at a verifier and at auth itself; so do the new key's.
      expect((await edge.verify(before.accessToken)).userId).toBe(before.user?.id);
      expect((await edge.verify(after.accessToken)).userId).toBe(before.user?.id);
      expect((await client.getMe({}, bearer(before.accessToken))).user?.id).toBe(before.user?.id);
      expect((await client.getMe({}, bearer(after.accessToken))).user?.id).toBe(before.user?.id);

      // The old key retired at 600 s; it stays published for the token lifetime and the spare hour.
      await advance(ttlS + 3600 - 1);
      expect(await kids()).toContain(oldKid);
      await advance(2);
      expect(await kids()).not.toContain(oldKid);
      expect(await kids()).toContain(newKid);

      // A token of the retired key is refused by verifiers whose clocks still take it as unexpired:
      // a fresh one, and the one that verified it before, once its cached key set is refetched.
      const start = Date.parse("2026-12-01T00:00:00Z");
      expect(await codeOf(verifierAt(() => start + 1_000).verify(before.accessToken))).toBe(Code.Unauthenticated);
      seen += 61_000;
      expect(await codeOf(remembering.verify(stillOld.accessToken))).toBe(Code.Unauthenticated);
    });
  });
});
