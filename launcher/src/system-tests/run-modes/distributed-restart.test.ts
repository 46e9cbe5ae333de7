import { closeClient } from "@shopmesh/platform";
import { createTestClient } from "@shopmesh/platform/testing";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { expect, it } from "vitest";
import type { ServiceName } from "../../distributed-mesh.js";
import { rest } from "../../shopper.js";
import { describeDistributed } from "../distributed-fixture.test-support.js";

/**
 * The distributed mesh's restart policy on real processes: a service killed from outside comes
 * back by itself after the backoff's first delay (SHOPMESH_RESTART_DELAY_MS, 1 s by default); one
 * the launcher is asked to kill stays down.
 */

/** The health status of `service`'s gRPC server at `address`, on a channel of its own; undefined when it does not answer. */
async function health(service: ServiceName, address: string): Promise<HealthCheckResponse_ServingStatus | undefined> {
  const client = createTestClient(Health, address, {
    serverWorkload: service,
    defaultTimeoutMs: 1_000,
    maxAttempts: 1,
    channelOptions: { "grpc.use_local_subchannel_pool": 1 },
  });
  try {
    return (await client.check({ service: "" })).status;
  } catch {
    return undefined;
  } finally {
    closeClient(client);
  }
}

describeDistributed("distributed mode restarts", (t) => {
  it("restarts a service killed from outside (kill -9): its health answers SERVING again and the edge reaches it", {
    timeout: 120_000,
  }, async () => {
    const address = t.mesh.services.catalog;
    const pid = t.mesh.pid("catalog");
    if (pid === undefined) throw new Error("catalog is not running");
    expect(await health("catalog", address)).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(t.mesh.restarts("catalog")).toBe(0);

    process.kill(pid, "SIGKILL");
    await expect
      .poll(() => t.unexpectedExits.map((e) => [e.name, e.signal, e.expected]), { timeout: 10_000, interval: 20 })
      .toEqual([["catalog", "SIGKILL", false]]);
    t.unexpectedExits.length = 0;

    await expect.poll(() => health("catalog", address), { timeout: 90_000, interval: 200 }).toBe(HealthCheckResponse_ServingStatus.SERVING);
    t.notePids();
    const again = t.mesh.pid("catalog");
    expect(again).toBeDefined();
    expect(again).not.toBe(pid);
    expect(t.mesh.restarts("catalog")).toBe(1);
    await expect.poll(async () => (await rest(t.mesh.url, "GET", "/api/products")).status, { timeout: 30_000, interval: 200 }).toBe(200);
    expect(t.unexpectedExits).toEqual([]);
  });

  it("leaves a process the launcher was asked to kill down until it is started", { timeout: 60_000 }, async () => {
    const exit = await t.mesh.kill("notification", "SIGKILL");
    expect(exit).toMatchObject({ signal: "SIGKILL", expected: true });
    // Longer than the first restart delay.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(t.mesh.pid("notification")).toBeUndefined();
    expect(t.mesh.restarts("notification")).toBe(0);

    await t.mesh.start("notification");
    t.notePids();
    expect(await health("notification", t.mesh.services.notification)).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(t.unexpectedExits).toEqual([]);
  });
});
