/**
 * `npm run chaos`: checkouts under fault scenarios (chaos.ts) against the edge at CHAOS_URL, or
 * against an embedded mesh of its own; prints the orders placed, their outcomes, checkouts/s and
 * the invariants at the end. Exit code 1 when a breach was seen or the invariants do not hold.
 */
import { demoCatalog } from "@shopmesh/catalog";
import { ConfigError, runMain } from "@shopmesh/platform";
import { type EmbeddedMesh, startEmbedded } from "../embedded-mesh.js";
import { defaultScenarios, formatChaosReport, operatorToken, runChaos } from "./chaos.js";
import { readChaosConfig } from "./chaos-config.js";

runMain(async () => {
  const config = readChaosConfig();
  let mesh: EmbeddedMesh | undefined;
  try {
    let url = config.CHAOS_URL;
    let token = config.CHAOS_OPERATOR_TOKEN;
    if (url === undefined) {
      process.stdout.write("starting an embedded mesh...\n");
      mesh = await startEmbedded({
        ...process.env,
        EDGE_PORT: "0",
        LOG_LEVEL: "silent",
        SHOPMESH_DATA_DIR: "memory",
        // Every shopper comes from this machine: a load test opts out of the per-address limits.
        EDGE_RATE_LIMIT_EXEMPT: "127.0.0.1,::1",
      });
      url = mesh.url;
      token = await operatorToken(url, { address: mesh.services.auth as string, tlsDir: mesh.tlsDir }, "chaos-operator@example.com");
    }
    if (token === undefined) throw new ConfigError("set CHAOS_OPERATOR_TOKEN to an operator's access token for CHAOS_URL");
    const scenarios = defaultScenarios.map((s) => (s.forMs === undefined ? s : { ...s, forMs: config.CHAOS_BROKER_AWAY_SECONDS * 1000 }));
    const report = await runChaos({
      url,
      operatorToken: token,
      shoppers: config.CHAOS_SHOPPERS,
      checkoutsPerShopper: config.CHAOS_CHECKOUTS,
      productIds: demoCatalog.map((p) => p.id),
      scenarios,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(formatChaosReport(report));
    if (report.breachesDuringLoad.length > 0 || !report.final.holds) process.exitCode = 1;
  } finally {
    await mesh?.stop();
  }
});
