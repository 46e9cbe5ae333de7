import { demoCatalog } from "@shopmesh/catalog";
import { createMeshTls } from "@shopmesh/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { defaultScenarios, operatorToken, runChaos } from "../../tools/chaos.js";
import { rest } from "../../shopper.js";
import { reconcile } from "../../tools/reconcile.js";

/**
 * Chaos under load in embedded mode: shoppers check out concurrently while an operator switches
 * on, through the edge's console, payment's provider declining 30 % of the cards, order's broker
 * away for a few seconds and catalog answering slowly, and reads the invariants meanwhile. Money
 * and stock never disagree (orders may wait while the broker is away); once every fault is off,
 * every order is paid or cancelled and the books reconcile.
 */

let mesh: EmbeddedMesh;
let token: string;

beforeAll(async () => {
  mesh = await startEmbedded({
    ...process.env,
    EDGE_PORT: "0",
    LOG_LEVEL: "silent",
    SHOPMESH_DATA_DIR: "memory",
    // Every shopper comes from this machine.
    EDGE_RATE_LIMIT_EXEMPT: "127.0.0.1,::1",
  });
  token = await operatorToken(mesh.url, { address: mesh.services.auth as string, tlsDir: mesh.tlsDir }, "chaos-test-operator@example.com");
});

afterAll(async () => {
  await mesh?.stop();
});

describe("chaos under load", () => {
  it("declines, a broker away and a slow service break neither money nor stock, and every order ends paid or cancelled", async () => {
    const report = await runChaos({
      url: mesh.url,
      operatorToken: token,
      shoppers: 6,
      checkoutsPerShopper: 4,
      productIds: demoCatalog.map((p) => p.id),
      scenarios: defaultScenarios,
    });

    expect(report.placed).toBe(24);
    expect(report.refused).toEqual({});
    // Every order final: paid, or cancelled for a declined card.
    expect(Object.keys(report.outcomes).sort()).toEqual(["cancelled", "paid"]);
    expect((report.outcomes.paid ?? 0) + (report.outcomes.cancelled ?? 0)).toBe(report.placed);
    // While order's broker was away, its events waited in its outbox.
    expect(report.maxOutboxBacklog).toBeGreaterThan(0);
    // During the load: stuck orders allowed, no money or stock breach.
    expect(report.failedPolls).toBe(0);
    expect(report.breachesDuringLoad).toEqual([]);
    expect(report.final).toMatchObject({
      holds: true,
      stuck_orders: 0,
      settling_orders: 0,
      breaches: [],
      outbox_backlog: "0",
      orders: report.outcomes,
    });
    expect(report.final.money.map((m) => m.charged_cents === m.paid_cents)).toEqual([true]);

    // The same check through `npm run reconcile`'s reading, as the `reconcile` workload.
    const books = await reconcile(
      { order: mesh.services.order as string, payment: mesh.services.payment as string, catalog: mesh.services.catalog as string },
      { stuckAfterMs: 300_000, settleMs: 0, ...(mesh.tlsDir ? { tls: createMeshTls({ dir: mesh.tlsDir, workload: "reconcile" }) } : {}) },
    );
    expect(books.discrepancies).toEqual([]);
    expect(books.counts.orders).toBe(report.placed);

    // Every fault is off again.
    const faults = await rest<{ services: Array<{ service: string; faults: object }> }>(mesh.url, "GET", "/api/admin/chaos", { token });
    expect(faults.status).toBe(200);
    for (const s of faults.body.services) expect(s.faults, s.service).toMatchObject({ calls: "", provider: "", broker: "", events: {} });
  });
});
