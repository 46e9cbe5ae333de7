import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { demoCatalog } from "@shopmesh/catalog";
import { closeClient, createClient } from "@shopmesh/platform";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import { OperationsConsoleService, OperationsService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { rest, Shopper } from "../../shopper.js";
import { createTestClient } from "@shopmesh/platform/testing";

/**
 * Who may call what: every method the edge exposes to signed-in users (and a few public and
 * internal ones), called as nobody, as another user, as the owner, with the owner's token once
 * it expired and with a token forged in the owner's name, through REST (where the contract
 * declares a route), Connect through the edge and gRPC straight to the service.
 */

type Principal = "anonymous" | "forged" | "other" | "owner" | "expired";
type Channel = "rest" | "connect" | "grpc";
/** "ok" (and what the answer must show), or the code of the refusal. */
type Outcome = { ok: (res: any) => void } | Code;

interface Case {
  readonly service: DescService;
  readonly method: string;
  readonly request: () => object;
  /** REST route, when the contract declares one. */
  readonly rest?: () => { verb: string; path: string; body?: unknown };
  readonly expect: Readonly<Record<Principal, Outcome>>;
  /** Channels the case runs on; default all three (REST only with a route). */
  readonly channels?: readonly Channel[];
}

/** An answer as text, whatever its shape (messages carry bigint timestamps). */
const text = (r: unknown) => JSON.stringify(r, (_, v) => (typeof v === "bigint" ? String(v) : v));

const restStatus: Partial<Record<Code, number>> = {
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.FailedPrecondition]: 409,
};

let mesh: EmbeddedMesh;
let owner: Shopper;
let other: Shopper;
let ownerOrder: string;
let forged: string;
const bought = demoCatalog[3];
const carted = demoCatalog[4];

const tokenOf = (p: Principal): string | undefined =>
  p === "anonymous" ? undefined : p === "forged" ? forged : p === "other" ? other.token : owner.token;

const refused = (code: Code) => ({ anonymous: Code.Unauthenticated, forged: Code.Unauthenticated, expired: Code.Unauthenticated, code });

function userCase(c: Omit<Case, "expect"> & { other: Outcome; owner: Outcome }): Case {
  return {
    ...c,
    expect: {
      anonymous: Code.Unauthenticated,
      forged: Code.Unauthenticated,
      expired: Code.Unauthenticated,
      other: c.other,
      owner: c.owner,
    },
  };
}

const cases = (): Case[] => [
  userCase({
    service: AuthService,
    method: "GetMe",
    request: () => ({}),
    rest: () => ({ verb: "GET", path: "/api/auth/me" }),
    other: { ok: (r) => expect(text(r)).not.toContain(owner.userId) },
    owner: { ok: (r) => expect(text(r)).toContain(owner.userId) },
  }),
  userCase({
    service: CartService,
    method: "GetCart",
    request: () => ({}),
    rest: () => ({ verb: "GET", path: "/api/cart" }),
    other: { ok: (r) => expect(text(r)).not.toContain(carted?.id) },
    owner: { ok: (r) => expect(text(r)).toContain(carted?.id) },
  }),
  userCase({
    service: CartService,
    method: "RemoveItem",
    request: () => ({ productId: carted?.id }),
    rest: () => ({ verb: "DELETE", path: `/api/cart/items/${carted?.id}` }),
    // Removes from the caller's own cart: the owner's keeps the item (checked by GetCart above and after).
    other: { ok: () => undefined },
    owner: Code.Unauthenticated, // not run for the owner: see `skip`
  }),
  userCase({
    service: OrderService,
    method: "GetOrder",
    request: () => ({ id: ownerOrder }),
    rest: () => ({ verb: "GET", path: `/api/orders/${ownerOrder}` }),
    other: Code.NotFound,
    owner: { ok: (r) => expect(text(r)).toContain(ownerOrder) },
  }),
  userCase({
    service: OrderService,
    method: "ListOrders",
    request: () => ({}),
    rest: () => ({ verb: "GET", path: "/api/orders" }),
    other: { ok: (r) => expect(text(r)).not.toContain(ownerOrder) },
    owner: { ok: (r) => expect(text(r)).toContain(ownerOrder) },
  }),
  userCase({
    service: OrderService,
    method: "StreamOrders",
    request: () => ({ orderIds: [ownerOrder] }),
    other: Code.NotFound,
    owner: { ok: (r) => expect(text(r)).toContain(ownerOrder) },
  }),
  userCase({
    service: PaymentService,
    method: "GetPayment",
    request: () => ({ lookup: { case: "orderId", value: ownerOrder } }),
    other: Code.NotFound,
    owner: { ok: (r) => expect(text(r)).toContain(ownerOrder) },
  }),
  userCase({
    service: NotificationService,
    method: "ListNotifications",
    request: () => ({}),
    rest: () => ({ verb: "GET", path: "/api/notifications" }),
    other: { ok: (r) => expect(text(r)).not.toContain(ownerOrder) },
    owner: { ok: (r) => expect(text(r)).toContain(ownerOrder) },
  }),
  userCase({
    service: OrderService,
    method: "PlaceOrder",
    request: () => ({}),
    rest: () => ({ verb: "POST", path: "/api/checkout", body: {} }),
    // The other user's own cart is empty: the owner's cart is not theirs to check out.
    other: Code.FailedPrecondition,
    owner: Code.Unauthenticated, // not run for the owner: see `skip`
  }),
  {
    service: CatalogService,
    method: "GetProduct",
    request: () => ({ id: bought?.id }),
    rest: () => ({ verb: "GET", path: `/api/products/${bought?.id}` }),
    // Public: anyone may read, but a token that is sent must be valid (checked at the edge;
    // the catalog itself takes no tokens).
    channels: ["rest", "connect"],
    expect: {
      ...refused(Code.Unauthenticated),
      anonymous: { ok: () => undefined },
      other: { ok: () => undefined },
      owner: { ok: () => undefined },
    },
  },
];

/** The owner's mutations are left out: they would change what the other rows look at. */
const skip = new Set(["RemoveItem:owner", "PlaceOrder:owner"]);

async function call(c: Case, channel: Channel, principal: Principal): Promise<{ ok: true; res: any } | { ok: false; code: Code }> {
  const token = tokenOf(principal);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const method = c.service.methods.find((m) => m.name === c.method) as DescMethod;
  if (channel === "rest") {
    const route = c.rest?.();
    if (!route) throw new Error(`${c.method} has no REST route`);
    const reply = await rest(mesh.url, route.verb, route.path, { token, ...(route.body ? { body: route.body } : {}) });
    if (reply.status >= 200 && reply.status < 300) return { ok: true, res: reply.body };
    const code = Number(Object.entries(restStatus).find(([, s]) => s === reply.status)?.[0] ?? Code.Unknown) as Code;
    return { ok: false, code };
  }
  try {
    if (channel === "connect") {
      const client = createConnectClient(c.service, createConnectTransport({ baseUrl: mesh.url, httpVersion: "1.1" })) as any;
      const fn = client[method.localName];
      if (method.methodKind === "server_streaming") {
        for await (const m of fn(c.request(), { headers })) return { ok: true, res: m };
        return { ok: true, res: undefined };
      }
      return { ok: true, res: await fn(c.request(), { headers }) };
    }
    const name = c.service.typeName.split(".")[1] as string;
    const client = createTestClient(c.service, mesh.services[name] as string) as any;
    try {
      const fn = client[method.localName];
      if (method.methodKind === "server_streaming") {
        for await (const m of fn(c.request(), { metadata: headers })) return { ok: true, res: m };
        return { ok: true, res: undefined };
      }
      return { ok: true, res: await fn(c.request(), { metadata: headers }) };
    } finally {
      closeClient(client);
    }
  } catch (err) {
    return { ok: false, code: ConnectError.from(err).code };
  }
}

async function runMatrix(principals: readonly Principal[]): Promise<string[]> {
  const failures: string[] = [];
  for (const c of cases()) {
    const channels = (c.channels ?? ["rest", "connect", "grpc"]).filter((ch) => ch !== "rest" || c.rest);
    for (const principal of principals) {
      if (skip.has(`${c.method}:${principal}`)) continue;
      const want = c.expect[principal];
      for (const channel of channels) {
        const where = `${c.service.typeName.split(".")[1]}.${c.method} as ${principal} over ${channel}`;
        const got = await call(c, channel, principal);
        if (typeof want === "number") {
          if (got.ok || got.code !== want) failures.push(`${where}: expected ${Code[want]}, got ${got.ok ? "ok" : Code[got.code]}`);
        } else if (!got.ok) {
          failures.push(`${where}: expected ok, got ${Code[got.code]}`);
        } else {
          try {
            want.ok(got.res);
          } catch (err) {
            failures.push(`${where}: ${(err as Error).message}`);
          }
        }
      }
    }
  }
  return failures;
}

beforeAll(async () => {
  if (!bought || !carted) throw new Error("the demo catalog is too small");
  // One thread: the expired-token test moves this thread's clock, which a worker thread's verifiers would not see.
  mesh = await startEmbedded({
    ...process.env,
    EDGE_PORT: "0",
    LOG_LEVEL: "silent",
    SHOPMESH_DATA_DIR: "memory",
    SHOPMESH_WORKER_THREAD: "none",
  });
  owner = await Shopper.signup(mesh.url, "matrix-owner@example.com");
  other = await Shopper.signup(mesh.url, "matrix-other@example.com");
  await owner.addItem(bought.id, 1);
  ownerOrder = (await owner.checkout()).order_id;
  await owner.waitFinal(ownerOrder);
  await owner.addItem(carted.id, 1);
  // The paid order's email is recorded asynchronously; ListNotifications rows below look for it.
  for (let i = 0; !JSON.stringify(await owner.notifications()).includes(ownerOrder); i++) {
    if (i > 100) throw new Error("the owner's order notification never came");
    await new Promise((r) => setTimeout(r, 50));
  }
  // The owner's claims, signed with a key of our own under auth's key id.
  const [header, payload] = owner.token.split(".") as [string, string];
  const { generateKeyPair, SignJWT } = await import("jose");
  const foreign = await generateKeyPair("ES256");
  forged = await new SignJWT(JSON.parse(Buffer.from(payload, "base64url").toString()))
    .setProtectedHeader({ alg: "ES256", kid: JSON.parse(Buffer.from(header, "base64url").toString()).kid })
    .sign(foreign.privateKey);
});

afterAll(async () => {
  vi.useRealTimers();
  await mesh?.stop();
});

describe("authorization matrix", () => {
  it("answers every method as its owner, another user, nobody and a forger should be answered, over REST, Connect and gRPC", async () => {
    expect(await runMatrix(["anonymous", "forged", "other", "owner"])).toEqual([]);
    // The other user's calls changed nothing of the owner's.
    expect((await owner.cart()).items.map((i) => i.product_id)).toEqual([carted?.id]);
  });

  it("refuses the owner's token once it expired, everywhere", async () => {
    // Access tokens live AUTH_ACCESS_TTL_S (15 min): an hour later the owner's has expired for
    // every verifier in this process (the edge's and the services').
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + 3_600_000);
    try {
      expect(await runMatrix(["expired"])).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not expose internal methods through the edge, whoever asks", async () => {
    const internal: Array<[DescService, string, object]> = [
      [PaymentService, "listPayments", {}],
      [PaymentService, "charge", { orderId: ownerOrder, userId: owner.userId, amountCents: 1, currency: "EUR" }],
      [CatalogService, "reserveStock", { orderId: ownerOrder, items: [{ productId: bought?.id, quantity: 1 }] }],
      [CartService, "getUserCart", { userId: owner.userId }],
      // What the console's GetInvariants and GetEvents read: each service's own, not the edge's.
      [OperationsService, "getEventHealth", {}],
    ];
    for (const [service, method, request] of internal) {
      for (const token of [undefined, owner.token]) {
        const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
        const connect = createConnectClient(service, createConnectTransport({ baseUrl: mesh.url, httpVersion: "1.1" })) as any;
        const viaConnect = await connect[method](request, { headers }).then(
          () => "ok",
          (e: unknown) => Code[ConnectError.from(e).code],
        );
        const grpcClient = createClient(service, `127.0.0.1:${mesh.edgePort}`) as any;
        const viaGrpc = await grpcClient[method](request, { metadata: headers }).then(
          () => "ok",
          (e: unknown) => Code[ConnectError.from(e).code],
        );
        closeClient(grpcClient);
        // Connect: the edge's 404 for a path it does not route; gRPC: UNIMPLEMENTED.
        expect([viaConnect, viaGrpc], `${service.typeName}.${method}`).toEqual(["NotFound", "Unimplemented"]);
      }
    }
  });

  it("serves operator methods through the edge to operators only: nobody gets UNAUTHENTICATED, a shopper PERMISSION_DENIED", async () => {
    const operatorMethods: Array<[DescService, string, object]> = [
      [OrderService, "listAllOrders", {}],
      [OrderService, "listAllOrders", { email: owner.email }],
      [OrderService, "cancelOrder", { orderId: ownerOrder, reason: "mine" }],
      [NotificationService, "listOrderNotifications", { orderId: ownerOrder }],
      [CatalogService, "adjustStock", { productId: bought?.id, delta: 100, reason: "x" }],
      [
        CatalogService,
        "createProduct",
        { id: "p-shopper-made", name: "Mine", priceCents: 1, currency: "EUR", categories: [], imageUrls: [], initialStock: 1 },
      ],
      [
        CatalogService,
        "updateProduct",
        { id: bought?.id, expectedVersion: 1n, name: "Mine", priceCents: 1, currency: "EUR", categories: [], imageUrls: [] },
      ],
      [CatalogService, "archiveProduct", { id: bought?.id, expectedVersion: 1n, reason: "x" }],
      [CatalogService, "listStockBooks", {}],
      [CatalogService, "listStockAdjustments", { productId: bought?.id }],
      [CatalogService, "listPriceChanges", { productId: bought?.id }],
      // Served by the edge itself, over order's, payment's and catalog's operator methods.
      [OperationsConsoleService, "getInvariants", {}],
    ];
    for (const [service, method, request] of operatorMethods) {
      for (const [token, expected] of [
        [undefined, "Unauthenticated"],
        [owner.token, "PermissionDenied"],
      ] as const) {
        const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
        const connect = createConnectClient(service, createConnectTransport({ baseUrl: mesh.url, httpVersion: "1.1" })) as any;
        const viaConnect = await connect[method](request, { headers }).then(
          () => "ok",
          (e: unknown) => Code[ConnectError.from(e).code],
        );
        const grpcClient = createClient(service, `127.0.0.1:${mesh.edgePort}`) as any;
        const viaGrpc = await grpcClient[method](request, { metadata: headers }).then(
          () => "ok",
          (e: unknown) => Code[ConnectError.from(e).code],
        );
        closeClient(grpcClient);
        expect([viaConnect, viaGrpc], `${service.typeName}.${method}`).toEqual([expected, expected]);
      }
    }
  });
});
