import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { ConnectError } from "@connectrpc/connect";
import { closeClient, createClient } from "@shopmesh/platform";
import { describeWithKafka, pollUntil, postgresTestUrl, testMeshTls, testTlsEnv, useKafkaBroker } from "@shopmesh/platform/testing";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../distributed-mesh.js";
import { processNamed, repoPath, repoRoot } from "./processes.js";

/**
 * What Kubernetes does to a pod (after the preStop pause): SIGTERM to the container's command,
 * SIGKILL when terminationGracePeriodSeconds is over. The process must stop answering SERVING on
 * grpc.health.v1 at once (NOT_SERVING, then no new connections), drain and exit by itself within
 * its SHUTDOWN_GRACE_MS. (That in-flight calls finish and streams end is tested on the server:
 * platform/src/grpc/grpc.test.ts.)
 */
describeWithKafka("a service process stopped as Kubernetes stops a pod", () => {
  describe("on Postgres and the Kafka-protocol broker", () => {
    const kafka = useKafkaBroker();
    const schema = `t_shutdown_${randomBytes(4).toString("hex")}`;
    const graceMs = 3_000;
    let child: ChildProcess | undefined;
    let output = "";
    let url = "";

    beforeAll(async () => {
      url = postgresTestUrl();
    });
    afterAll(async () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      const admin = new Client({ connectionString: url });
      await admin.connect();
      await admin.query(`drop schema if exists "${schema}" cascade`);
      await admin.end();
    });

    it("stops being SERVING at once on SIGTERM, refuses new connections and exits 0 within its shutdown grace", async () => {
      const catalog = processNamed("catalog");
      const [port, adminPort] = await freePorts(2);
      const address = `127.0.0.1:${port}`;
      child = spawn(process.execPath, [repoPath(catalog.command[1] ?? "")], {
        cwd: repoRoot,
        env: {
          PATH: process.env.PATH ?? "",
          DATABASE_URL: url,
          DB_SCHEMA: schema,
          KAFKA_BROKERS: kafka.brokers.join(","),
          CATALOG_HOST: "127.0.0.1",
          CATALOG_PORT: String(port),
          AUTH_ADDR: "127.0.0.1:1",
          METRICS_HOST: "127.0.0.1",
          METRICS_PORT: String(adminPort),
          SHUTDOWN_GRACE_MS: String(graceMs),
          LOG_LEVEL: "warn",
          ...testTlsEnv(),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.on("data", (d) => {
        output += d;
      });
      child.stderr?.on("data", (d) => {
        output += d;
      });
      const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;

      const health = createClient(Health, address, { defaultTimeoutMs: 60_000, maxAttempts: 1, ...meshClient });
      try {
        const started = child;
        const serving = await pollUntil(async () => started.exitCode !== null || (await check(address)) === Status.SERVING, {
          timeoutMs: 30_000,
          intervalMs: 100,
        });
        expect(serving && started.exitCode === null, `catalog not SERVING; its output:\n${output}`).toBe(true);
        const watch = health.watch({ service: "" })[Symbol.asyncIterator]();
        expect((await watch.next()).value?.status).toBe(Status.SERVING);

        const signalled = performance.now();
        child.kill("SIGTERM");
        // A watcher hears NOT_SERVING, and a probe's fresh Check is no longer answered SERVING:
        // either way the pod leaves the endpoints at once.
        const ended = await watch.next().then(
          (r) => (r.done ? "ended" : r.value.status),
          (err: unknown) => (err instanceof ConnectError ? err.code : err),
        );
        expect(ended, output).toBe(Status.NOT_SERVING);
        expect(await check(address)).not.toBe(Status.SERVING);
        expect(performance.now() - signalled).toBeLessThan(1_000);
        const [code, signal] = await exited;
        expect({ code, signal }, output).toEqual({ code: 0, signal: null });
        expect(performance.now() - signalled, "exits by itself within SHUTDOWN_GRACE_MS and 5 s to close").toBeLessThan(graceMs + 5_000);
        expect(await check(address)).toBe("unreachable");
      } finally {
        closeClient(health);
      }
    });
  });
});

/** The test's clients of catalog speak mutual TLS with the run's test certificates. */
const meshClient = { tls: testMeshTls(), serverWorkload: "catalog" };

/** The status a fresh channel gets from Check, or "unreachable". */
async function check(address: string): Promise<Status | "unreachable"> {
  const client = createClient(Health, address, {
    defaultTimeoutMs: 1_000,
    maxAttempts: 1,
    channelOptions: { "grpc.use_local_subchannel_pool": 1 },
    ...meshClient,
  });
  try {
    return (await client.check({ service: "" })).status;
  } catch {
    return "unreachable";
  } finally {
    closeClient(client);
  }
}
