import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type CallOptions,
  type CheckOptions,
  type Client,
  closeClient,
  createClient,
  invalidArgument,
  type Logger,
  type MeshTls,
  reconcileBooks,
  workloadOfService,
} from "@shopmesh/platform";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import {
  type AuditEntry,
  type DeadLetter,
  type DeadLetterStatus,
  EventHealthSchema,
  GetEventsResponseSchema,
  ListAllAuditResponseSchema,
  ListAllDeadLettersResponseSchema,
  OperationsConsoleService,
  OperationsService,
  DiscardServiceDeadLetterResponseSchema,
  ReplayServiceDeadLetterResponseSchema,
  ReplayAllDeadLettersResponseSchema,
  DiscardAllDeadLettersResponseSchema,
  type Faults,
  GetInvariantsResponseSchema,
  ListFaultsResponseSchema,
  ServiceFaultsSchema,
  SetServiceFaultsResponseSchema,
} from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import type { Upstream, UpstreamMethod } from "../rpc/upstreams.js";

export interface OperationsConsoleOptions {
  /** Service type name → address of the services the edge fronts; each serves shop.ops.v1.OperationsService. */
  readonly addresses: Readonly<Record<string, string>>;
  readonly logger: Logger;
  readonly defaultTimeoutMs: number;
  readonly tls?: MeshTls | undefined;
  /** The bounds of GetInvariants' check; default: stuck after 300 s, a settle window of 5 s. */
  readonly invariants?: CheckOptions;
}

/** At most this many breaches are listed by GetInvariants (the contract's bound). */
const MAX_BREACHES = 100;

/** Codes that say "this caller may not", not "this service is away": the whole answer is refused. */
const refusals = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument]);

/** A page token of a merged listing: each service's own token, for the services with more to list. */
function decodeTokens(token: string): Record<string, string> | undefined {
  if (token === "") return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string"))
      return value as Record<string, string>;
  } catch {
    // refused below
  }
  throw invalidArgument("page_token", "is not a token from a previous response");
}

function encodeTokens(tokens: Record<string, string>): string {
  return Object.keys(tokens).length === 0 ? "" : Buffer.from(JSON.stringify(tokens)).toString("base64url");
}

const millis = (t: { seconds: bigint; nanos: number } | undefined) => (t ? Number(t.seconds) * 1000 + t.nanos / 1e6 : 0);

/**
 * shop.ops.v1.OperationsConsoleService, implemented in the edge as an upstream of its own: each
 * method calls every service's OperationsService with the caller's metadata (its token: the
 * services enforce the operator policy) and merges the answers, naming each item's service.
 * Listings leave out the services that do not answer; GetEvents lists them as unreachable.
 */
export function createOperationsConsole(opts: OperationsConsoleOptions): Upstream {
  const targets = new Map<string, Client<typeof OperationsService>>();
  for (const [typeName, address] of Object.entries(opts.addresses)) {
    const name = workloadOfService(typeName);
    if (!name || targets.has(name) || typeName === OperationsConsoleService.typeName) continue;
    targets.set(
      name,
      createClient(OperationsService, address, {
        logger: opts.logger,
        defaultTimeoutMs: opts.defaultTimeoutMs,
        tls: opts.tls,
        serverWorkload: name,
      }),
    );
  }

  // The books GetInvariants reads: order's, payment's and catalog's, when the edge fronts them.
  const bookClient = <S extends typeof OrderService | typeof PaymentService | typeof CatalogService>(service: S) => {
    const address = opts.addresses[service.typeName];
    return address === undefined
      ? undefined
      : createClient(service, address, {
          logger: opts.logger,
          defaultTimeoutMs: opts.defaultTimeoutMs,
          tls: opts.tls,
          serverWorkload: workloadOfService(service.typeName),
        });
  };
  const books = { orders: bookClient(OrderService), payments: bookClient(PaymentService), catalog: bookClient(CatalogService) };
  const invariantBounds = opts.invariants ?? { stuckAfterMs: 300_000, settleMs: 5_000 };

  /** Calls `fn` on each of `names`; a refusal fails the whole call, another failure leaves that service out (undefined). */
  async function fanOut<T>(names: readonly string[], fn: (client: Client<typeof OperationsService>, name: string) => Promise<T>) {
    const settled = await Promise.allSettled(names.map((n) => fn(targets.get(n) as Client<typeof OperationsService>, n)));
    const results = new Map<string, T | undefined>();
    for (const [i, s] of settled.entries()) {
      const name = names[i] as string;
      if (s.status === "fulfilled") {
        results.set(name, s.value);
        continue;
      }
      const err = ConnectError.from(s.reason);
      if (refusals.has(err.code)) throw err;
      opts.logger.warn({ service: name, err }, "operations console: a service did not answer");
      results.set(name, undefined);
    }
    return results;
  }

  function namesOf(service: string): string[] {
    if (service === "") return [...targets.keys()].sort();
    if (!targets.has(service)) throw invalidArgument("service", `must be one of ${[...targets.keys()].sort().join(", ")}`);
    return [service];
  }

  /** The service and the id within it of a console id `<service>:<id>`. */
  function letterTarget(id: string): { name: string; id: string } {
    const colon = id.indexOf(":");
    if (colon <= 0) throw invalidArgument("id", "must be <service>:<event id>, as listed");
    const name = id.slice(0, colon);
    if (!targets.has(name)) throw new ConnectError(`dead letter ${id} not found`, Code.NotFound);
    return { name, id: id.slice(colon + 1) };
  }

  const prefixed = (letter: DeadLetter | undefined): DeadLetter | undefined =>
    letter && { ...letter, id: `${letter.service}:${letter.eventId}` };

  const batchOf = (req: { eventType: string; reason: string }) => ({ eventType: req.eventType, reason: req.reason, limit: 0 });

  /** The letters each service acted on, prefixed; a service that does not answer is left out. */
  async function everyLetter(
    req: { service: string; reason: string },
    act: (c: Client<typeof OperationsService>) => Promise<{ items: DeadLetter[] }>,
  ): Promise<DeadLetter[]> {
    // Refused once here, rather than by every service.
    if (req.reason.trim() === "") throw invalidArgument("reason", "is required: say why, for the audit log");
    const results = await fanOut(namesOf(req.service), act);
    return [...results.values()].flatMap((r) => (r ? r.items.map((l) => prefixed(l) as DeadLetter) : []));
  }

  // Every method of the contract: a method added to ops.proto without a handler here fails to compile.
  const methods: Record<keyof typeof OperationsConsoleService.method, (req: any, o: CallOptions) => Promise<unknown>> = {
    async getEvents(_req, o) {
      const names = namesOf("");
      const results = await fanOut(names, async (c) => (await c.getEventHealth({}, o)).health);
      return create(GetEventsResponseSchema, {
        services: names.map((name) => results.get(name) ?? create(EventHealthSchema, { service: name, reachable: false })),
      });
    },
    async listAllDeadLetters(req: { service: string; pageSize: number; pageToken: string; status: DeadLetterStatus }, o) {
      const tokens = decodeTokens(req.pageToken);
      const names = namesOf(req.service).filter((n) => !tokens || tokens[n] !== undefined);
      const results = await fanOut(names, (c, name) =>
        c.listDeadLetters({ pageSize: req.pageSize, pageToken: tokens?.[name] ?? "", status: req.status }, o),
      );
      const next: Record<string, string> = {};
      const items: DeadLetter[] = [];
      for (const [name, res] of results) {
        if (!res) continue;
        items.push(...res.items.map((l) => prefixed(l) as DeadLetter));
        if (res.nextPageToken !== "") next[name] = res.nextPageToken;
      }
      items.sort((a, b) => millis(b.deadLetteredAt) - millis(a.deadLetteredAt));
      return create(ListAllDeadLettersResponseSchema, { items, nextPageToken: encodeTokens(next) });
    },
    async replayServiceDeadLetter(req: { id: string; reason: string }, o) {
      const t = letterTarget(req.id);
      const res = await (targets.get(t.name) as Client<typeof OperationsService>).replayDeadLetter({ id: t.id, reason: req.reason }, o);
      return create(ReplayServiceDeadLetterResponseSchema, { deadLetter: prefixed(res.deadLetter) });
    },
    async discardServiceDeadLetter(req: { id: string; reason: string }, o) {
      const t = letterTarget(req.id);
      const res = await (targets.get(t.name) as Client<typeof OperationsService>).discardDeadLetter({ id: t.id, reason: req.reason }, o);
      return create(DiscardServiceDeadLetterResponseSchema, { deadLetter: prefixed(res.deadLetter) });
    },
    async replayAllDeadLetters(req: { service: string; eventType: string; reason: string }, o) {
      return create(ReplayAllDeadLettersResponseSchema, { items: await everyLetter(req, (c) => c.replayDeadLetters(batchOf(req), o)) });
    },
    async discardAllDeadLetters(req: { service: string; eventType: string; reason: string }, o) {
      return create(DiscardAllDeadLettersResponseSchema, { items: await everyLetter(req, (c) => c.discardDeadLetters(batchOf(req), o)) });
    },
    async listFaults(_req, o) {
      const names = namesOf("");
      const results = await fanOut(names, (c) => c.getFaults({}, o));
      return create(ListFaultsResponseSchema, {
        services: names.map((name) => {
          const r = results.get(name);
          return create(
            ServiceFaultsSchema,
            r ? { service: name, faults: r.faults, switchable: r.switchable, reachable: true } : { service: name },
          );
        }),
      });
    },
    async setServiceFaults(req: { service: string; faults?: Faults; reason: string }, o) {
      if (req.service === "") throw invalidArgument("service", `must be one of ${[...targets.keys()].sort().join(", ")}`);
      const [name] = namesOf(req.service) as [string];
      const res = await (targets.get(name) as Client<typeof OperationsService>).setFaults({ faults: req.faults, reason: req.reason }, o);
      return create(SetServiceFaultsResponseSchema, {
        serviceFaults: { service: name, faults: res.faults, switchable: true, reachable: true },
      });
    },
    async getInvariants(_req, o) {
      const { orders, payments, catalog } = books;
      if (!orders || !payments || !catalog) throw new ConnectError("the edge fronts no order, payment or catalog", Code.Unavailable);
      const [report, health] = await Promise.all([
        reconcileBooks({ orders, payments, catalog }, invariantBounds, o).catch((err: unknown) => {
          const e = ConnectError.from(err);
          if (refusals.has(e.code)) throw e;
          opts.logger.warn({ err: e }, "operations console: order, payment or catalog did not answer");
          throw new ConnectError("order, payment or catalog did not answer", Code.Unavailable);
        }),
        fanOut(namesOf(""), async (c) => (await c.getEventHealth({}, o)).health),
      ]);
      let deadLetters = 0;
      let outboxBacklog = 0n;
      for (const h of health.values()) {
        deadLetters += Number(h?.deadLetters ?? 0n);
        outboxBacklog += h?.outboxBacklog ?? 0n;
      }
      return create(GetInvariantsResponseSchema, {
        checkedAt: timestampFromDate(report.startedAt),
        holds: report.discrepancies.length === 0,
        orders: Object.fromEntries(Object.entries(report.orders).map(([status, n]) => [status.toLowerCase(), n])),
        stuckOrders: report.discrepancies.filter((d) => d.kind === "stuck_order").length,
        settlingOrders: report.settling,
        money: Object.entries(report.money)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([currency, m]) => ({
            currency,
            chargedCents: BigInt(m.charged),
            refundedCents: BigInt(m.refunded),
            paidCents: BigInt(m.paid),
            refundedByOrdersCents: BigInt(m.refundedByOrders),
          })),
        products: report.counts.products,
        breaches: report.discrepancies.slice(0, MAX_BREACHES),
        deadLetters,
        outboxBacklog,
      });
    },
    async listAllAudit(req: { service: string; pageSize: number; pageToken: string }, o) {
      const tokens = decodeTokens(req.pageToken);
      const names = namesOf(req.service).filter((n) => !tokens || tokens[n] !== undefined);
      const results = await fanOut(names, (c, name) => c.listAudit({ pageSize: req.pageSize, pageToken: tokens?.[name] ?? "" }, o));
      const next: Record<string, string> = {};
      const items: AuditEntry[] = [];
      for (const [name, res] of results) {
        if (!res) continue;
        items.push(...res.items.map((a) => ({ ...a, id: `${name}:${a.id}` })));
        if (res.nextPageToken !== "") next[name] = res.nextPageToken;
      }
      items.sort((a, b) => millis(b.time) - millis(a.time));
      return create(ListAllAuditResponseSchema, { items, nextPageToken: encodeTokens(next) });
    },
  };

  return {
    service: OperationsConsoleService,
    address: "in-process",
    method(localName) {
      const m = (methods as Record<string, (typeof methods)[keyof typeof methods] | undefined>)[localName];
      if (!m) throw new Error(`${OperationsConsoleService.typeName} has no method ${localName}`);
      return ((req: unknown, o?: CallOptions) => m(req, o ?? {})) as UpstreamMethod;
    },
    async health() {
      return "SERVING";
    },
    close() {
      for (const c of targets.values()) closeClient(c);
      for (const c of Object.values(books)) if (c) closeClient(c);
    },
  };
}
