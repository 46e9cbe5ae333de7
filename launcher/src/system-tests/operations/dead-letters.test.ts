import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { rest, Shopper } from "../../shopper.js";
import { matrixTokens } from "../security/authorization-matrix.js";

interface LetterJson {
  id: string;
  service: string;
  event_type: string;
  key: string;
  status: string;
  error: string;
  payload: Record<string, unknown>;
  resolved_by: string;
}

/**
 * The operator's dead letters end to end, through the edge's REST routes: notification's consumer
 * fails on every UserRegistered (an injected fault), so each welcome email is dead-lettered; the
 * operator reads it decoded; the mesh is started again without the fault (the consumer fixed),
 * the letter is replayed and the email is sent once.
 */
describe("dead letters through the operations console (embedded mode)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "shopmesh-dead-letters-"));
  const env = { ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: dataDir };
  let mesh: EmbeddedMesh | undefined;

  afterAll(async () => {
    await mesh?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows a poison event decoded, replays it once the fault is cleared, applies it once, and audits it", async () => {
    mesh = await startEmbedded({ ...env, FAULTS_ENABLED: "true", FAULTS_EVENTS: "shop.auth.v1.UserRegistered=code=FAILED_PRECONDITION" });
    const tokens = await matrixTokens({ services: mesh.services, tlsDir: mesh.tlsDir as string }, "dead-letters");
    const shopper = await Shopper.signup(mesh.url, "poisoned-welcome@example.com");
    const asOperator = { token: tokens.operator };

    const letterOf = async (url: string): Promise<LetterJson | undefined> => {
      const res = await rest<{ items: LetterJson[] }>(url, "GET", "/api/admin/dead-letters", asOperator);
      expect(res.status).toBe(200);
      return res.body.items.find((l) => l.key === shopper.userId);
    };
    await expect.poll(() => letterOf(mesh?.url as string), { timeout: 15_000, interval: 100 }).toBeDefined();
    const letter = (await letterOf(mesh.url)) as LetterJson;
    expect(letter).toMatchObject({
      id: expect.stringMatching(/^notification:/),
      service: "notification",
      event_type: "shop.auth.v1.UserRegistered",
      payload: { user_id: shopper.userId, email: "poisoned-welcome@example.com" },
    });
    expect(letter.error).not.toBe("");

    // Operators only, on every route.
    const routes: Array<[string, string]> = [
      ["GET", "/api/admin/dead-letters"],
      ["GET", "/api/admin/events"],
      ["GET", "/api/admin/audit"],
      ["POST", `/api/admin/dead-letters/${letter.id}/replay`],
      ["POST", `/api/admin/dead-letters/${letter.id}/discard`],
    ];
    for (const [method, path] of routes) {
      const body = method === "POST" ? { reason: "not mine to decide" } : undefined;
      expect((await rest(mesh.url, method, path, { body })).status, `${method} ${path} without a token`).toBe(401);
      expect((await rest(mesh.url, method, path, { body, token: shopper.token })).status, `${method} ${path} as a shopper`).toBe(403);
    }

    const events = await rest<{ services: Array<{ service: string; dead_letters: string; reachable: boolean }> }>(
      mesh.url,
      "GET",
      "/api/admin/events",
      asOperator,
    );
    expect(events.status).toBe(200);
    const notification = events.body.services.find((s) => s.service === "notification");
    expect(notification?.reachable).toBe(true);
    expect(Number(notification?.dead_letters)).toBeGreaterThanOrEqual(3);
    expect((await shopper.notifications()).filter((n) => n.user_id === shopper.userId)).toEqual([]);

    // The consumer is fixed: the mesh runs again on the same data, without the fault.
    await mesh.stop();
    mesh = await startEmbedded(env);
    const url = mesh.url;
    const noReason = await rest(url, "POST", `/api/admin/dead-letters/${letter.id}/replay`, { ...asOperator, body: { reason: "" } });
    expect(noReason.status).toBe(400);

    const replayed = await rest<{ dead_letter: LetterJson }>(url, "POST", `/api/admin/dead-letters/${letter.id}/replay`, {
      ...asOperator,
      body: { reason: "welcome consumer fixed" },
    });
    expect(replayed.status).toBe(200);
    expect(replayed.body.dead_letter.status).toMatch(/replayed/i);
    const again = await rest(url, "POST", `/api/admin/dead-letters/${letter.id}/replay`, { ...asOperator, body: { reason: "twice" } });
    expect(again.status).toBe(409);
    const inbox = await rest<{ items: Array<{ user_id: string }> }>(url, "GET", "/api/notifications", { token: shopper.token });
    expect(inbox.body.items.filter((n) => n.user_id === shopper.userId)).toHaveLength(1);

    // Another letter set aside for good.
    const other = (await rest<{ items: LetterJson[] }>(url, "GET", "/api/admin/dead-letters", asOperator)).body.items.find(
      (l) => l.key !== shopper.userId,
    ) as LetterJson;
    const discarded = await rest<{ dead_letter: LetterJson }>(url, "POST", `/api/admin/dead-letters/${other.id}/discard`, {
      ...asOperator,
      body: { reason: "test account" },
    });
    expect(discarded.status).toBe(200);
    expect(discarded.body.dead_letter.status).toMatch(/discarded/i);
    expect((await rest(url, "POST", "/api/admin/dead-letters/nowhere:42/replay", { ...asOperator, body: { reason: "x" } })).status).toBe(
      404,
    );

    const audit = await rest<{ items: Array<{ service: string; actor: string; action: string; target: string; reason: string }> }>(
      url,
      "GET",
      "/api/admin/audit",
      asOperator,
    );
    expect(audit.status).toBe(200);
    expect(audit.body.items.map((a) => [a.service, a.action, a.target, a.reason])).toEqual([
      ["notification", "dead_letter.discard", other.id.split(":")[1], "test account"],
      ["notification", "dead_letter.replay", letter.id.split(":")[1], "welcome consumer fixed"],
    ]);
    expect(new Set(audit.body.items.map((a) => a.actor)).size).toBe(1);
    expect(audit.body.items[0]?.actor).not.toBe("");
  });
});
