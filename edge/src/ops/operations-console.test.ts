import { create, type DescService } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createGrpcServer,
  createLogger,
  type GrpcServer,
  permissionDenied,
  type ServiceHandlers,
  serviceRegistration,
} from "@shopmesh/platform";
import { catalogHandlers } from "@shopmesh/platform/testing";
import { CatalogService, ReservationSchema, ReservationStatus, StockBookSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderSchema, OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentSchema, PaymentService, PaymentStatus } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import {
  DeadLetterSchema,
  type ListAllDeadLettersResponse,
  type ListFaultsResponse,
  type SetServiceFaultsResponse,
  type GetEventsResponse,
  type GetInvariantsResponse,
  OperationsService,
} from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { afterEach, expect, test } from "vitest";
import { createOperationsConsole } from "./operations-console.js";

const logger = createLogger({ level: "silent" });
const servers: GrpcServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

/** The faults each fake service holds, as SetFaults left them. */
const faults = new Map<string, { calls: string; events: Record<string, string> }>();

/** A service's OperationsService holding `count` dead letters, one a minute apart, paged by two. */
async function serve(service: string, count: number, offsetMs: number): Promise<string> {
  const letters = Array.from({ length: count }, (_, i) =>
    create(DeadLetterSchema, {
      id: `0190a000-0000-7000-8000-00000000000${i}`,
      eventId: `0190a000-0000-7000-8000-00000000000${i}`,
      service,
      deadLetteredAt: timestampFromMs(1_700_000_000_000 + offsetMs - i * 60_000),
    }),
  );
  const server = createGrpcServer({
    name: service,
    host: "127.0.0.1",
    port: 0,
    logger,
    services: [
      serviceRegistration(OperationsService, {
        async getEventHealth(_req, ctx) {
          if (ctx.metadata.get("authorization")[0] !== "Bearer op") throw permissionDenied();
          return { health: { service, deadLetters: BigInt(count), reachable: true } };
        },
        async listDeadLetters(req) {
          const from = Number(req.pageToken || "0");
          return { items: letters.slice(from, from + 2), nextPageToken: from + 2 < count ? String(from + 2) : "" };
        },
        async replayDeadLetter(req) {
          return { deadLetter: letters.find((l) => l.eventId === req.id) };
        },
        async discardDeadLetter() {
          throw new ConnectError("discarded already", Code.FailedPrecondition);
        },
        async replayDeadLetters() {
          return { items: letters };
        },
        async discardDeadLetters() {
          return { items: [] };
        },
        async listAudit() {
          return { items: [] };
        },
        async getFaults() {
          return { service, faults: faults.get(service) ?? { calls: "", events: {} }, switchable: true };
        },
        async setFaults(req) {
          faults.set(service, { calls: req.faults?.calls ?? "", events: req.faults?.events ?? {} });
          return { faults: faults.get(service) };
        },
      }),
    ],
  });
  servers.push(server);
  return `127.0.0.1:${await server.start()}`;
}

test("the console merges every service's answers, pages each on its own token, and names each letter's service", async () => {
  const opsConsole = createOperationsConsole({
    addresses: {
      "shop.order.v1.OrderService": await serve("order", 3, 0),
      "shop.payment.v1.PaymentService": await serve("payment", 1, 30_000),
      "shop.cart.v1.CartService": "127.0.0.1:1", // not answering
    },
    logger,
    defaultTimeoutMs: 2_000,
  });
  try {
    const asOperator = { metadata: { authorization: "Bearer op" } };
    const list = opsConsole.method("listAllDeadLetters");
    const first = (await list({ service: "", pageSize: 2, pageToken: "", status: 0 }, asOperator)) as ListAllDeadLettersResponse;
    expect(first.items.map((l) => l.id)).toEqual([
      "payment:0190a000-0000-7000-8000-000000000000",
      "order:0190a000-0000-7000-8000-000000000000",
      "order:0190a000-0000-7000-8000-000000000001",
    ]);
    const second = (await list(
      { service: "", pageSize: 2, pageToken: first.nextPageToken, status: 0 },
      asOperator,
    )) as ListAllDeadLettersResponse;
    expect(second.items.map((l) => l.id)).toEqual(["order:0190a000-0000-7000-8000-000000000002"]);
    expect(second.nextPageToken).toBe("");

    const events = (await opsConsole.method("getEvents")({}, asOperator)) as GetEventsResponse;
    expect(events.services.map((s) => [s.service, s.reachable, s.deadLetters])).toEqual([
      ["cart", false, 0n],
      ["order", true, 3n],
      ["payment", true, 1n],
    ]);
    // A refusal of any service refuses the whole answer.
    await expect(opsConsole.method("getEvents")({}, { metadata: { authorization: "Bearer shopper" } })).rejects.toMatchObject({
      code: Code.PermissionDenied,
    });

    const replay = opsConsole.method("replayServiceDeadLetter");
    const replayed = (await replay({ id: "order:0190a000-0000-7000-8000-000000000001", reason: "x" }, asOperator)) as {
      deadLetter: { id: string };
    };
    expect(replayed.deadLetter.id).toBe("order:0190a000-0000-7000-8000-000000000001");
    await expect(replay({ id: "nowhere:1", reason: "x" }, asOperator)).rejects.toMatchObject({ code: Code.NotFound });
    await expect(replay({ id: "no-service", reason: "x" }, asOperator)).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(
      opsConsole.method("discardServiceDeadLetter")({ id: "payment:0190a000-0000-7000-8000-000000000000", reason: "x" }, asOperator),
    ).rejects.toMatchObject({ code: Code.FailedPrecondition });
    const all = (await opsConsole.method("replayAllDeadLetters")({ service: "", eventType: "", reason: "fixed" }, asOperator)) as {
      items: Array<{ id: string }>;
    };
    expect(all.items.map((l) => l.id).sort()).toEqual([
      "order:0190a000-0000-7000-8000-000000000000",
      "order:0190a000-0000-7000-8000-000000000001",
      "order:0190a000-0000-7000-8000-000000000002",
      "payment:0190a000-0000-7000-8000-000000000000",
    ]);
    await expect(opsConsole.method("discardAllDeadLetters")({ service: "", eventType: "", reason: " " }, asOperator)).rejects.toMatchObject(
      { code: Code.InvalidArgument },
    );
    await expect(list({ service: "nowhere", pageSize: 0, pageToken: "", status: 0 }, asOperator)).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
    await expect(list({ service: "", pageSize: 0, pageToken: "%%%", status: 0 }, asOperator)).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
  } finally {
    opsConsole.close();
  }
});

test("the chaos panel lists every service's faults, an absent one as unreachable, and switches one service's", async () => {
  const opsConsole = createOperationsConsole({
    addresses: {
      "shop.order.v1.OrderService": await serve("order", 0, 0),
      "shop.cart.v1.CartService": "127.0.0.1:1", // not answering
    },
    logger,
    defaultTimeoutMs: 2_000,
  });
  try {
    const asOperator = { metadata: { authorization: "Bearer op" } };
    const set = (await opsConsole.method("setServiceFaults")(
      { service: "order", faults: { calls: "code=UNAVAILABLE;rate=0.5", events: {} }, reason: "chaos drill" },
      asOperator,
    )) as SetServiceFaultsResponse;
    expect(set.serviceFaults?.faults?.calls).toBe("code=UNAVAILABLE;rate=0.5");
    const listed = (await opsConsole.method("listFaults")({}, asOperator)) as ListFaultsResponse;
    expect(listed.services.map((s) => [s.service, s.reachable, s.faults?.calls ?? ""])).toEqual([
      ["cart", false, ""],
      ["order", true, "code=UNAVAILABLE;rate=0.5"],
    ]);
    await expect(opsConsole.method("setServiceFaults")({ service: "nowhere", reason: "x" }, asOperator)).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
  } finally {
    opsConsole.close();
  }
});

type HandlerContext = { metadata: { get(key: string): unknown[] } };

/** `service` with `handlers`, its other methods UNIMPLEMENTED. */
function only<S extends DescService>(service: S, handlers: Partial<Record<string, unknown>>) {
  const unimplemented = async () => {
    throw new ConnectError("not in the fake", Code.Unimplemented);
  };
  return serviceRegistration(
    service,
    Object.fromEntries(service.methods.map((m) => [m.localName, handlers[m.localName] ?? unimplemented])) as ServiceHandlers<S>,
  );
}

/** Order, payment and catalog with the books of one paid order and, when `stuck`, a PENDING order stuck for ten minutes. */
async function serveBooks(opts: { stuck: boolean; catalogAway?: boolean }): Promise<Record<string, string>> {
  const now = Date.now();
  const old = timestampFromMs(now - 600_000);
  const items = [{ productId: "p-1", quantity: 2, unitPriceCents: 999 }];
  const orders = [
    create(OrderSchema, {
      id: "o-paid",
      status: OrderStatus.PAID,
      totalCents: 1998,
      currency: "EUR",
      items,
      paymentId: "pay-1",
      updatedAt: old,
    }),
    ...(opts.stuck
      ? [create(OrderSchema, { id: "o-stuck", status: OrderStatus.PENDING, totalCents: 999, currency: "EUR", updatedAt: old })]
      : []),
  ];
  const payments = [
    create(PaymentSchema, {
      id: "pay-1",
      orderId: "o-paid",
      status: PaymentStatus.SUCCEEDED,
      amountCents: 1998,
      currency: "EUR",
      updatedAt: old,
    }),
  ];
  const reservations = [create(ReservationSchema, { orderId: "o-paid", status: ReservationStatus.RESERVED, items })];
  const books = [create(StockBookSchema, { productId: "p-1", onHand: 10, reserved: 2, reservedByReservations: 2, adjusted: 10 })];
  const operator = (ctx: HandlerContext) => {
    if (ctx.metadata.get("authorization")[0] !== "Bearer op") throw permissionDenied();
  };
  const serveOne = async (name: string, own: ReturnType<typeof serviceRegistration>, backlog: number) => {
    const server = createGrpcServer({
      name,
      host: "127.0.0.1",
      port: 0,
      logger,
      services: [
        own,
        only(OperationsService, {
          async getEventHealth(_req: unknown, ctx: HandlerContext) {
            operator(ctx);
            return { health: { service: name, outboxBacklog: BigInt(backlog), deadLetters: 1n, reachable: true } };
          },
        }),
      ],
    });
    servers.push(server);
    return `127.0.0.1:${await server.start()}`;
  };
  const page = <T>(list: T[]) => ({ items: list, nextPageToken: "" });
  return {
    [OrderService.typeName]: await serveOne(
      "order",
      only(OrderService, {
        async listAllOrders(_req: unknown, ctx: HandlerContext) {
          operator(ctx);
          return page(orders);
        },
      }),
      3,
    ),
    [PaymentService.typeName]: await serveOne(
      "payment",
      only(PaymentService, {
        async listPayments(_req: unknown, ctx: HandlerContext) {
          operator(ctx);
          return page(payments);
        },
      }),
      0,
    ),
    [CatalogService.typeName]: opts.catalogAway
      ? "127.0.0.1:1"
      : await serveOne(
          "catalog",
          serviceRegistration(
            CatalogService,
            catalogHandlers({
              async listReservations(_req, ctx) {
                operator(ctx);
                return page(reservations);
              },
              async listStockBooks(_req, ctx) {
                operator(ctx);
                return page(books);
              },
            }),
          ),
          2,
        ),
  };
}

test("the invariants are the books of order, payment and catalog checked together, with the waiting events summed", async () => {
  const invariants = { stuckAfterMs: 60_000, settleMs: 5_000 };
  const opsConsole = createOperationsConsole({ addresses: await serveBooks({ stuck: true }), logger, defaultTimeoutMs: 2_000, invariants });
  const healthy = createOperationsConsole({ addresses: await serveBooks({ stuck: false }), logger, defaultTimeoutMs: 2_000, invariants });
  const away = createOperationsConsole({
    addresses: await serveBooks({ stuck: false, catalogAway: true }),
    logger,
    defaultTimeoutMs: 1_000,
    invariants,
  });
  try {
    const asOperator = { metadata: { authorization: "Bearer op" } };
    const res = (await opsConsole.method("getInvariants")({}, asOperator)) as GetInvariantsResponse;
    expect(res).toMatchObject({
      holds: false,
      orders: { paid: 1, pending: 1 },
      stuckOrders: 1,
      settlingOrders: 0,
      products: 1,
      deadLetters: 3,
      outboxBacklog: 5n,
    });
    expect(res.breaches.map((b) => [b.kind, b.subject])).toEqual([["stuck_order", "order o-stuck"]]);
    expect(res.money.map((m) => [m.currency, m.chargedCents, m.refundedCents, m.paidCents, m.refundedByOrdersCents])).toEqual([
      ["EUR", 1998n, 0n, 1998n, 0n],
    ]);
    expect(res.checkedAt).toBeDefined();

    const fine = (await healthy.method("getInvariants")({}, asOperator)) as GetInvariantsResponse;
    expect(fine).toMatchObject({ holds: true, stuckOrders: 0, breaches: [], orders: { paid: 1 } });

    await expect(opsConsole.method("getInvariants")({}, { metadata: { authorization: "Bearer shopper" } })).rejects.toMatchObject({
      code: Code.PermissionDenied,
    });
    await expect(away.method("getInvariants")({}, asOperator)).rejects.toMatchObject({ code: Code.Unavailable });
  } finally {
    opsConsole.close();
    healthy.close();
    away.close();
  }
});

test("without order, payment or catalog to read, the invariants are UNAVAILABLE", async () => {
  const opsConsole = createOperationsConsole({
    addresses: { "shop.cart.v1.CartService": "127.0.0.1:1" },
    logger,
    defaultTimeoutMs: 1_000,
  });
  try {
    await expect(opsConsole.method("getInvariants")({}, { metadata: { authorization: "Bearer op" } })).rejects.toMatchObject({
      code: Code.Unavailable,
    });
  } finally {
    opsConsole.close();
  }
});
