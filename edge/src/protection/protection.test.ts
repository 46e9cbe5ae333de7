import * as http from "node:http";
import * as http2 from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { closeClient, createClient as createGrpcClient, createLogger } from "@shopmesh/platform";
import { waitUntil } from "@shopmesh/platform/testing";
import { RetryInfoSchema } from "@shopmesh/proto/google/rpc/error_details_pb.js";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Authenticate } from "./authenticate.js";
import { readEdgeConfig } from "../config.js";
import { createEdge, type Edge, type EdgeSettings } from "../edge.js";
import { testEdgeSettings } from "../testing/edge-settings.js";
import { EchoService } from "../testing/echo-contract.js";
import { type FakeCatalog, type FakeEcho, startFakeCatalog, startFakeEcho, startLeakyUpstream } from "../testing/fake-upstreams.js";

const logger = createLogger({ level: "silent" });

// The tests run on loopback: nothing is exempt here.
const settings = (overrides: Partial<EdgeSettings> = {}) => testEdgeSettings({ EDGE_RATE_LIMIT_EXEMPT: [], ...overrides });

/** Bearer token "<name>" stands for user "<name>". */
const namedUsers: Authenticate = (headers) => {
  const value = headers.get("authorization");
  if (value === null) return undefined;
  const token = value.replace(/^Bearer /, "");
  return { token, userId: token };
};

function failure(p: Promise<unknown>): Promise<ConnectError> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => ConnectError.from(e),
  );
}

const login = (base: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ email: "a@example.com", password: "wrong password" }),
  });

describe("rate limits", () => {
  let auth: Awaited<ReturnType<typeof startLeakyUpstream>>;
  let echo: FakeEcho;
  let edge: Edge;
  let base: string;

  beforeAll(async () => {
    // Every sign-in is refused (UNAUTHENTICATED), as for someone guessing passwords.
    auth = await startLeakyUpstream(AuthService, grpc.status.UNAUTHENTICATED);
    echo = await startFakeEcho(logger);
    edge = createEdge({
      config: settings({
        EDGE_CREDENTIALS_RATE_PER_MINUTE: 6,
        EDGE_CREDENTIALS_BURST: 3,
        EDGE_CLIENT_RATE: 100,
        EDGE_CLIENT_BURST: 100,
        EDGE_USER_RATE: 1,
        EDGE_USER_BURST: 5,
        EDGE_TRUSTED_PROXY_HOPS: 1,
      }),
      logger,
      upstreams: { [AuthService.typeName]: auth.address, [EchoService.typeName]: echo.address },
      services: [AuthService, EchoService],
      authenticate: namedUsers,
      webApp: false,
    });
    await edge.start();
    base = `http://127.0.0.1:${edge.port}`;
  });

  afterAll(async () => {
    await edge?.stop();
    await auth?.stop();
    await echo?.server.stop();
  });

  it("answers a burst of logins from one address with 429 and Retry-After; another address is unaffected", async () => {
    const client = { "x-forwarded-for": "203.0.113.7" };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(base, client)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const refused = await login(base, client);
    expect(refused.status).toBe(429);
    // 6 a minute: the next one in about 10 s.
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(await refused.json()).toMatchObject({ code: "resource_exhausted" });

    expect((await login(base, { "x-forwarded-for": "198.51.100.20" })).status).toBe(401);
    // Methods without the credentials limit are not held back for the limited address.
    expect((await fetch(`${base}/api/echo/x`, { headers: client })).status).toBe(200);
  });

  it("keys on the address the trusted proxy appended, not on what the client wrote before it", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(base, { "x-forwarded-for": `10.9.9.${i}, 203.0.113.8` })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it("counts the addresses of one IPv6 /64 as one client", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(base, { "x-forwarded-for": `2001:db8:7:7::${i + 1}` })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await login(base, { "x-forwarded-for": "2001:db8:7:8::1" })).status).toBe(401);
  });

  it("refuses Connect and gRPC callers with RESOURCE_EXHAUSTED and the retry delay", async () => {
    const headers = { "x-forwarded-for": "203.0.113.9" };
    const connect = createClient(AuthService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" }));
    const codes: Code[] = [];
    let refusal: ConnectError | undefined;
    for (let i = 0; i < 4; i++) {
      const e = await failure(connect.login({ email: "a@example.com", password: "wrong password" }, { headers }));
      codes.push(e.code);
      if (e.code === Code.ResourceExhausted) refusal = e;
    }
    expect(codes).toEqual([Code.Unauthenticated, Code.Unauthenticated, Code.Unauthenticated, Code.ResourceExhausted]);
    expect(Number(refusal?.metadata.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const [retryInfo] = refusal?.findDetails(RetryInfoSchema) ?? [];
    expect(Number(retryInfo?.retryDelay?.seconds)).toBeGreaterThanOrEqual(1);

    const grpcClient = createGrpcClient(AuthService, `127.0.0.1:${edge.port}`, { logger });
    try {
      const md = { "x-forwarded-for": "203.0.113.10" };
      const grpcCodes: Code[] = [];
      let trailer: string | null = null;
      let delay: bigint | undefined;
      for (let i = 0; i < 4; i++) {
        const e = await failure(grpcClient.login({ email: "a@example.com", password: "wrong password" }, { metadata: md }));
        grpcCodes.push(e.code);
        if (e.code === Code.ResourceExhausted) {
          trailer = e.metadata.get("retry-after");
          delay = e.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds;
        }
      }
      expect(grpcCodes).toEqual([Code.Unauthenticated, Code.Unauthenticated, Code.Unauthenticated, Code.ResourceExhausted]);
      expect(Number(trailer)).toBeGreaterThanOrEqual(1);
      expect(Number(delay)).toBeGreaterThanOrEqual(1);
    } finally {
      closeClient(grpcClient);
    }
  });

  it("limits each signed-in user on their own", async () => {
    const mine = (user: string) => fetch(`${base}/api/me/echo`, { headers: { authorization: `Bearer ${user}` } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await mine("alice")).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toContain(429);
    expect((await mine("bob")).status).toBe(200);
  });
});

describe("default limits", () => {
  it("answers a burst of failed logins from 127.0.0.1 with 429: loopback is not exempt", async () => {
    const auth = await startLeakyUpstream(AuthService, grpc.status.UNAUTHENTICATED);
    // The configuration of a plain start: nothing set but where to listen.
    const edge = createEdge({
      config: readEdgeConfig({ EDGE_PORT: "0", EDGE_HOST: "127.0.0.1" }),
      logger,
      upstreams: { [AuthService.typeName]: auth.address },
      services: [AuthService],
      webApp: false,
    });
    try {
      await edge.start();
      const base = `http://127.0.0.1:${edge.port}`;
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await login(base)).status);
      // The default allows a burst of 10 sign-ins per address.
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.slice(10)).toEqual([429, 429]);
    } finally {
      await edge.stop();
      await auth.stop();
    }
  });
});

describe("address limits without a trusted proxy", () => {
  it("ignores X-Forwarded-For, and exempts the configured addresses", async () => {
    const catalog = await startFakeCatalog(logger);
    const make = (exempt: string[]) =>
      createEdge({
        config: settings({ EDGE_CLIENT_RATE: 1, EDGE_CLIENT_BURST: 2, EDGE_RATE_LIMIT_EXEMPT: exempt }),
        logger,
        upstreams: { [CatalogService.typeName]: catalog.address },
        services: [CatalogService],
        webApp: false,
      });
    const strict = make([]);
    const exempt = make(["127.0.0.1"]);
    try {
      await strict.start();
      await exempt.start();
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await fetch(`${strict.url}/api/products`, { headers: { "x-forwarded-for": `198.51.100.${i}` } })).status);
      }
      expect(statuses).toEqual([200, 200, 429, 429]);
      // Paths outside the API count as well.
      expect((await fetch(`${strict.url}/nothing-here`)).status).toBe(429);
      for (let i = 0; i < 4; i++) expect((await fetch(`${exempt.url}/api/products`)).status).toBe(200);
    } finally {
      await strict.stop();
      await exempt.stop();
      await catalog.server.stop();
    }
  });
});

describe("streams, headers and sizes", () => {
  let catalog: FakeCatalog;
  let edge: Edge;
  let base: string;

  beforeAll(async () => {
    catalog = await startFakeCatalog(logger);
    edge = createEdge({
      config: settings({ EDGE_MAX_STREAMS_PER_USER: 2, EDGE_MAX_HEADER_BYTES: 4096 }),
      logger,
      upstreams: { [CatalogService.typeName]: catalog.address },
      services: [CatalogService],
      authenticate: namedUsers,
      webApp: false,
    });
    await edge.start();
    base = `http://127.0.0.1:${edge.port}`;
  });

  afterAll(async () => {
    await edge?.stop();
    await catalog?.server.stop();
  });

  it("refuses a user's stream beyond the limit until one of theirs closes", async () => {
    const client = createClient(CatalogService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" }));
    const open = (user: string) => {
      const ac = new AbortController();
      const seen: number[] = [];
      const done = (async () => {
        for await (const m of client.streamStock(
          { productIds: ["p-beans"] },
          { signal: ac.signal, headers: { authorization: `Bearer ${user}` } },
        )) {
          seen.push(m.level?.available ?? -1);
        }
      })().catch((e: unknown) => ConnectError.from(e));
      return { ac, seen, done };
    };
    const a = open("alice");
    const b = open("alice");
    await waitUntil(() => a.seen.length === 1 && b.seen.length === 1);
    const c = open("alice");
    expect(await c.done).toMatchObject({ code: Code.ResourceExhausted });
    const other = open("bob");
    await waitUntil(() => other.seen.length === 1);
    a.ac.abort();
    await a.done;
    const d = open("alice");
    await waitUntil(() => d.seen.length === 1);
    for (const s of [b, other, d]) s.ac.abort();
    await Promise.all([b.done, other.done, d.done]);
  });

  it("answers 431 for a header section over the limit, on HTTP/1.1 and HTTP/2", async () => {
    const big = "x".repeat(5_000);
    const h1 = await new Promise<number>((resolve, reject) => {
      const req = http.get(`${base}/api/products`, { headers: { "x-big": big } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
    });
    expect(h1).toBe(431);
    const session = http2.connect(base);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ":path": "/api/products", "x-big": big });
        stream.on("response", (h) => resolve(Number(h[":status"])));
        stream.on("error", reject);
        stream.resume();
        stream.end();
      });
      expect(status).toBe(431);
    } finally {
      session.close();
    }
    expect((await fetch(`${base}/api/products`)).status).toBe(200);
  });

  it("sends the security headers on every answer", async () => {
    const connect = await fetch(`${base}/shop.catalog.v1.CatalogService/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "p-cup" }),
    });
    for (const res of [
      await fetch(`${base}/api/products`),
      await fetch(`${base}/api/products/none`),
      await fetch(`${base}/no/such/page`),
      await fetch(`${base}/healthz`),
      connect,
    ]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });
});

describe("watch streams", () => {
  it("limits the add and remove messages inside a watch like requests, ending the stream with RESOURCE_EXHAUSTED", async () => {
    const catalog = await startFakeCatalog(logger);
    const edge = createEdge({
      // Opening the stream takes one of the user's three tokens; each message takes one more.
      config: settings({ EDGE_USER_RATE: 1, EDGE_USER_BURST: 3 }),
      logger,
      upstreams: { [CatalogService.typeName]: catalog.address },
      services: [CatalogService],
      authenticate: namedUsers,
      webApp: false,
    });
    await edge.start();
    const client = createGrpcClient(CatalogService, `127.0.0.1:${edge.port}`, { logger });
    let finish = () => {};
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    try {
      const levels: string[] = [];
      let firstLevel = () => {};
      const gotFirst = new Promise<void>((r) => {
        firstLevel = r;
      });
      async function* requests() {
        yield { addProductIds: ["p-cup"] };
        await gotFirst;
        yield { removeProductIds: ["p-cup"] };
        yield { addProductIds: ["p-beans"] };
        await finished;
      }
      const error = await (async () => {
        for await (const m of client.watchStock(requests(), { metadata: { authorization: "Bearer carol" } })) {
          levels.push(m.level?.productId ?? "");
          firstLevel();
        }
      })().then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(levels[0]).toBe("p-cup");
      expect(error?.code).toBe(Code.ResourceExhausted);
      expect(Number(error?.metadata.get("retry-after"))).toBeGreaterThanOrEqual(1);

      // Another user's watch is not held back.
      async function* one() {
        yield { addProductIds: ["p-cup"] };
        await finished;
      }
      for await (const m of client.watchStock(one(), { metadata: { authorization: "Bearer dave" } })) {
        expect(m.level?.productId).toBe("p-cup");
        break;
      }
    } finally {
      finish();
      closeClient(client);
      await edge.stop();
      await catalog.server.stop();
    }
  });
});

describe("HTTP/2 sessions", () => {
  let echo: FakeEcho;
  let edge: Edge;
  let base: string;

  beforeAll(async () => {
    echo = await startFakeEcho(logger);
    edge = createEdge({
      config: settings({ EDGE_REQUEST_TIMEOUT_MS: 300, EDGE_H2_IDLE_TIMEOUT_MS: 200, EDGE_H2_MAX_CONCURRENT_STREAMS: 2 }),
      logger,
      upstreams: { [EchoService.typeName]: echo.address },
      services: [EchoService],
      webApp: false,
    });
    await edge.start();
    base = `http://127.0.0.1:${edge.port}`;
  });

  afterAll(async () => {
    await edge?.stop();
    await echo?.server.stop();
  });

  const get = (session: http2.ClientHttp2Session, path = "/healthz") =>
    new Promise<number>((resolve, reject) => {
      const stream = session.request({ ":path": path });
      stream.on("response", (h) => resolve(Number(h[":status"])));
      stream.on("error", reject);
      stream.resume();
      stream.end();
    });
  /** A request whose body starts and never ends. */
  const unfinished = (session: http2.ClientHttp2Session) => {
    const stream = session.request({ ":method": "POST", ":path": "/api/echo", "content-type": "application/json" });
    stream.write('{"name":');
    return stream;
  };

  it("closes a connection that has no open stream for EDGE_H2_IDLE_TIMEOUT_MS", async () => {
    const session = http2.connect(base);
    session.on("error", () => {});
    const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
    const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
    expect(await get(session)).toBe(200);
    await goaway;
    await closed;
    expect(session.closed || session.destroyed).toBe(true);
  });

  it("answers 408 on a stream whose body does not arrive within EDGE_REQUEST_TIMEOUT_MS; the connection serves on", async () => {
    const session = http2.connect(base);
    session.on("error", () => {});
    try {
      const stream = unfinished(session);
      stream.on("error", () => {});
      const status = await new Promise<number>((resolve) => stream.on("response", (h) => resolve(Number(h[":status"]))));
      expect(status).toBe(408);
      expect(await get(session)).toBe(200);
    } finally {
      session.destroy();
    }
  });

  it("tells clients EDGE_H2_MAX_CONCURRENT_STREAMS and holds a stream beyond it until one closes", async () => {
    // Bodies may take long here: only the stream limit closes in on the held requests.
    const patient = createEdge({
      config: settings({ EDGE_REQUEST_TIMEOUT_MS: 60_000, EDGE_H2_MAX_CONCURRENT_STREAMS: 2 }),
      logger,
      upstreams: { [EchoService.typeName]: echo.address },
      services: [EchoService],
      webApp: false,
      shutdownGraceMs: 100,
    });
    await patient.start();
    const session = http2.connect(patient.url);
    session.on("error", () => {});
    const other = http2.connect(patient.url);
    other.on("error", () => {});
    try {
      await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
      expect(session.remoteSettings.maxConcurrentStreams).toBe(2);
      const held = [unfinished(session), unfinished(session)];
      for (const h of held) h.on("error", () => {});
      let answered = false;
      const third = get(session).then((status) => {
        answered = true;
        return status;
      });
      // A full round trip on another connection: the third stream has had its chance.
      expect(await get(other)).toBe(200);
      expect(answered).toBe(false);
      held[0]?.close(http2.constants.NGHTTP2_CANCEL);
      expect(await third).toBe(200);
    } finally {
      session.destroy();
      other.destroy();
      await patient.stop();
    }
  });
});
