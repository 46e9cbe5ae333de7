/** `npm run start:distributed`: every service and the edge as child processes on Postgres and Kafka. */
import { createLogger, runMain, stopOnSignals } from "@shopmesh/platform";
import { readDistributedConfig } from "./config.js";
import { type DistributedMesh, describeExit, type ProcessExit, serviceNames, startDistributed } from "./distributed-mesh.js";

runMain(async () => {
  const started = performance.now();
  const cfg = readDistributedConfig();
  const logger = createLogger({ name: "launcher", level: cfg.LOG_LEVEL });
  let mesh: DistributedMesh | undefined;
  // The mesh starts a process that dies on its own again (SHOPMESH_RESTART). Without restarts it
  // takes the others down: the launcher exits non-zero and whoever runs it decides about a restart.
  const onUnexpectedExit = (exit: ProcessExit) => {
    process.stderr.write(`\n[launcher] ${describeExit(exit)}\n[launcher] stopping every process\n`);
    process.exitCode = 1;
    mesh?.stop().catch((err: unknown) => logger.error({ err }, "stop failed"));
  };
  const m = await startDistributed(process.env, cfg.SHOPMESH_RESTART ? {} : { onUnexpectedExit });
  mesh = m;
  stopOnSignals(() => m.stop(), logger);
  const processes = [...serviceNames.map((s) => `${s} ${m.services[s]} (pid ${m.pid(s)})`), `edge :${m.edgePort} (pid ${m.pid("edge")})`];
  process.stdout.write(
    `\nshopmesh (distributed) is ready in ${Math.round(performance.now() - started)} ms at ${m.url}\n` +
      `  processes: ${processes.join(", ")}\n` +
      `  databases: ${Object.values(m.databases).join(", ")}; Kafka: ${cfg.KAFKA_BROKERS.join(",")}\n` +
      `  REST:    curl ${m.url}/api/products\n` +
      `  gRPC:    grpcurl -plaintext localhost:${m.edgePort} list   (catalog directly: ${m.services.catalog})\n` +
      `  Metrics: ${[...serviceNames, "edge"].map((n) => `${n} ${m.adminUrl(n)}/metrics`).join(", ")}\n\n`,
  );
});
