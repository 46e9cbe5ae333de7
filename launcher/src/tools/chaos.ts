/**
 * A chaos run: shoppers check out concurrently through the edge's REST routes (the launcher's
 * `Shopper`) while an operator switches fault scenarios on through the console (POST
 * /api/admin/chaos/{service}) and watches the invariants (GET /api/admin/invariants); then every
 * fault is switched off, every order must reach a final state and the invariants must hold.
 * `npm run chaos` (chaos-main.ts) prints its figures; the system test
 * system-tests/operations/chaos-under-load.test.ts asserts them.
 */
import { closeClient, createClient, createMeshTls } from "@shopmesh/platform";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { RestError, rest, Shopper } from "../shopper.js";

/** One service's faults, as POST /api/admin/chaos/{service} takes them. */
export interface ServiceFaultsJson {
  readonly calls?: string;
  readonly events?: Readonly<Record<string, string>>;
  readonly provider?: string;
  readonly broker?: string;
}

/** A fault scenario: switched on as the load starts, off after `forMs` (or when the load ends). */
export interface ChaosScenario {
  readonly service: string;
  readonly faults: ServiceFaultsJson;
  readonly forMs?: number;
}

/** GET /api/admin/invariants, as REST answers it. */
export interface InvariantsJson {
  readonly checked_at: string;
  readonly holds: boolean;
  readonly orders: Readonly<Record<string, number>>;
  readonly stuck_orders: number;
  readonly settling_orders: number;
  readonly money: ReadonlyArray<{
    currency: string;
    charged_cents: string;
    refunded_cents: string;
    paid_cents: string;
    refunded_by_orders_cents: string;
  }>;
  readonly products: number;
  readonly breaches: ReadonlyArray<{ kind: string; subject: string; detail: string }>;
  readonly dead_letters: number;
  readonly outbox_backlog: string;
}

/**
 * The scenarios of a default run: the provider declines 30 % of the cards, order's broker is away
 * for 3 s (its events wait in its outbox: orders stay pending meanwhile), and catalog answers
 * every call 20 ms late.
 */
export const defaultScenarios: readonly ChaosScenario[] = [
  { service: "payment", faults: { provider: "decline;rate=0.3" } },
  { service: "order", faults: { broker: "code=UNAVAILABLE" }, forMs: 3_000 },
  { service: "catalog", faults: { calls: "delay=20ms" } },
];

export interface ChaosOptions {
  /** The edge's base URL. */
  readonly url: string;
  /** An operator's access token. */
  readonly operatorToken: string;
  readonly shoppers: number;
  readonly checkoutsPerShopper: number;
  /** What the shoppers buy, one unit a checkout, in turn. */
  readonly productIds: readonly string[];
  readonly scenarios?: readonly ChaosScenario[];
  /** How often the invariants are read during the load; default 500 ms. */
  readonly pollMs?: number;
  /** How long an order may take to become final, from its checkout; default 60 s. */
  readonly finalTimeoutMs?: number;
  /** How long the invariants may take to hold once every order is final; default 30 s. */
  readonly settleTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosReport {
  /** Orders placed (checkouts answered 201). */
  readonly placed: number;
  /** Checkouts refused, by HTTP status. */
  readonly refused: Readonly<Record<string, number>>;
  /** Orders by their last status ("paid", "cancelled"; anything else was not final in time). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** From the first checkout until the last shopper's last order was final. */
  readonly durationMs: number;
  /** Orders that became final per second of the load. */
  readonly checkoutsPerSecond: number;
  /** Invariant reads during the load, and those that did not answer 200. */
  readonly polls: number;
  readonly failedPolls: number;
  /** Breaches seen during the load other than stuck orders (money, stock, …): none is allowed. */
  readonly breachesDuringLoad: InvariantsJson["breaches"];
  /** The largest outbox backlog (over every service) seen during the load. */
  readonly maxOutboxBacklog: number;
  /** The invariants once every fault was off and every order final. */
  readonly final: InvariantsJson;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An operator of the mesh: signs up through the edge, is promoted through auth's CreateOperator (as `operator-cli`), logs in again. */
export async function operatorToken(url: string, auth: { address: string; tlsDir: string | undefined }, email: string): Promise<string> {
  const password = "correct horse battery staple";
  const signup = await rest(url, "POST", "/api/auth/signup", { body: { email, password, name: "Chaos operator" } });
  if (signup.status !== 201 && signup.status !== 409) throw new RestError("operator signup", signup);
  const tls = auth.tlsDir ? createMeshTls({ dir: auth.tlsDir, workload: "operator-cli" }) : undefined;
  const client = createClient(AuthService, auth.address, { tls, maxAttempts: 1, defaultTimeoutMs: 15_000 });
  try {
    await client.createOperator({ email, password, name: "" });
  } finally {
    closeClient(client);
  }
  const login = await rest<{ access_token: string }>(url, "POST", "/api/auth/login", { body: { email, password } });
  if (login.status !== 200) throw new RestError("operator login", login);
  return login.body.access_token;
}

/** Runs the load with the scenarios switched on, then off; see {@link ChaosReport}. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const scenarios = opts.scenarios ?? defaultScenarios;
  const finalTimeoutMs = opts.finalTimeoutMs ?? 60_000;
  const admin = (method: string, path: string, body?: unknown) => rest(opts.url, method, path, { token: opts.operatorToken, body });
  const setFaults = async (service: string, faults: ServiceFaultsJson, reason: string) => {
    const reply = await admin("POST", `/api/admin/chaos/${service}`, { faults, reason });
    if (reply.status !== 200) throw new RestError(`switch ${service}'s faults`, reply);
  };
  const invariants = () => rest<InvariantsJson>(opts.url, "GET", "/api/admin/invariants", { token: opts.operatorToken });

  const tag = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const shoppers = await Promise.all(
    Array.from({ length: opts.shoppers }, (_, i) => Shopper.signup(opts.url, `chaos-${tag}-${i}@example.com`)),
  );

  const placed: Array<{ shopper: Shopper; orderId: string }> = [];
  const refused: Record<string, number> = {};
  const breachesDuringLoad: Array<InvariantsJson["breaches"][number]> = [];
  let polls = 0;
  let failedPolls = 0;
  let maxOutboxBacklog = 0;
  let loading = true;

  const switchedOff = new Set<string>();
  const off = async (service: string, why: string) => {
    if (switchedOff.has(service)) return;
    switchedOff.add(service);
    await setFaults(service, {}, why);
    log(`faults off: ${service}`);
  };
  for (const s of scenarios) {
    await setFaults(s.service, s.faults, "chaos run");
    log(`faults on: ${s.service} ${JSON.stringify(s.faults)}`);
  }
  const timers = scenarios.flatMap((s) =>
    s.forMs === undefined ? [] : [setTimeout(() => void off(s.service, "chaos run: scenario over").catch(() => undefined), s.forMs)],
  );

  const watching = (async () => {
    while (loading) {
      const reply = await invariants().catch(() => undefined);
      polls++;
      if (reply?.status !== 200) failedPolls++;
      else {
        maxOutboxBacklog = Math.max(maxOutboxBacklog, Number(reply.body.outbox_backlog));
        for (const b of reply.body.breaches) if (b.kind !== "stuck_order") breachesDuringLoad.push(b);
      }
      await sleep(opts.pollMs ?? 500);
    }
  })();

  const started = performance.now();
  let bought = 0;
  try {
    await Promise.all(
      shoppers.map(async (shopper) => {
        for (let i = 0; i < opts.checkoutsPerShopper; i++) {
          const productId = opts.productIds[bought++ % opts.productIds.length] as string;
          try {
            await shopper.addItem(productId, 1);
            const { order_id } = await shopper.checkout();
            placed.push({ shopper, orderId: order_id });
            // The shopper waits for the order to be final before the next checkout, as a person would.
            await shopper.waitFinal(order_id, { timeoutMs: finalTimeoutMs, intervalMs: 100 }).catch(() => undefined);
          } catch (err) {
            if (!(err instanceof RestError)) throw err;
            const status = String(err.reply.status);
            refused[status] = (refused[status] ?? 0) + 1;
          }
        }
      }),
    );
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const s of scenarios) await off(s.service, "chaos run over");
  }
  const durationMs = performance.now() - started;
  loading = false;
  await watching;

  // Every fault off: every order must become final.
  const outcomes: Record<string, number> = {};
  for (const { shopper, orderId } of placed) {
    const order = await shopper.waitFinal(orderId, { timeoutMs: finalTimeoutMs, intervalMs: 100 }).catch(() => shopper.order(orderId));
    outcomes[order.status] = (outcomes[order.status] ?? 0) + 1;
  }

  // The books, once what is in flight has settled (the settle window of the check).
  const settleEnd = Date.now() + (opts.settleTimeoutMs ?? 30_000);
  let final: InvariantsJson;
  for (;;) {
    const reply = await invariants();
    if (reply.status !== 200) throw new RestError("invariants", reply);
    final = reply.body;
    if ((final.holds && final.settling_orders === 0) || Date.now() > settleEnd) break;
    await sleep(500);
  }
  const finished = (outcomes.paid ?? 0) + (outcomes.cancelled ?? 0);
  return {
    placed: placed.length,
    refused,
    outcomes,
    durationMs,
    checkoutsPerSecond: finished / (durationMs / 1000),
    polls,
    failedPolls,
    breachesDuringLoad,
    maxOutboxBacklog,
    final,
  };
}

/** The report as text, for a person. */
export function formatChaosReport(r: ChaosReport): string {
  const counts = (m: Readonly<Record<string, number>>) =>
    Object.entries(m)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(", ") || "none";
  const f = r.final;
  const lines = [
    `orders placed ${r.placed}; checkouts refused: ${counts(r.refused)}`,
    `outcomes: ${counts(r.outcomes)}`,
    `${r.checkoutsPerSecond.toFixed(1)} checkouts/s over ${(r.durationMs / 1000).toFixed(1)} s`,
    `during the load: ${r.polls} invariant reads (${r.failedPolls} unanswered), largest outbox backlog ${r.maxOutboxBacklog}, ` +
      `${r.breachesDuringLoad.length} money or stock breaches`,
    ...r.breachesDuringLoad.slice(0, 20).map((b) => `  BREACH ${b.kind}: ${b.subject}: ${b.detail}`),
    `invariants at ${f.checked_at}: ${f.holds ? "hold" : "BREACHED"}; orders ${counts(f.orders)}; stuck ${f.stuck_orders}, settling ${f.settling_orders}; ` +
      `products ${f.products}; dead letters ${f.dead_letters}; outbox backlog ${f.outbox_backlog}`,
    ...f.money.map(
      (m) =>
        `  ${m.currency}: charged ${m.charged_cents}, refunded ${m.refunded_cents}; orders paid ${m.paid_cents}, refunded ${m.refunded_by_orders_cents} (cents)`,
    ),
    ...f.breaches.map((b) => `  BREACH ${b.kind}: ${b.subject}: ${b.detail}`),
  ];
  return `${lines.join("\n")}\n`;
}
