// Phase 3: distributed mode, on Postgres and a Kafka-protocol broker (KAFKA_BROKERS, or the mock
// broker of scripts/kafka-test-broker.py started for the run): the outbox relay next to a bare
// kafkajs producer; bare kafkajs round trips; then the launcher's startDistributed for the
// distributed checkout scenarios. Skipped (reported as such) when Postgres or the broker cannot
// be had.
import { join } from "node:path";
import { createLogger, type Logger } from "@shopmesh/platform";
import type { BenchConfig } from "../bench-config.js";
import { round2 } from "../checkout.js";
import { type BenchDistributedMesh, probePostgres, redactUrl, startDistributedMesh } from "../distributed.js";
import { measureRoundTrips, probeBroker, type RoundTripFigures } from "../kafka-bare.js";
import { type BenchBroker, startBroker } from "../kafka-broker.js";
import { runRelay } from "../relay.js";
import type { RelayResult, SagaResult, ScenarioResult } from "../results.js";
import { observeSaga, type SagaStages } from "../saga-stages.js";
import type { CheckoutScenario, RelayScenario, SagaScenario, Scenario } from "../scenarios.js";
import { type BenchRun, errorText, log, type PhaseResult } from "./phase.js";
import { measureCheckouts, runCheckoutScenario } from "./run-scenarios.js";

async function runRelayScenario(scenario: RelayScenario, broker: BenchBroker, cfg: BenchConfig, logger: Logger): Promise<RelayResult> {
  try {
    log(`${scenario.name}: ${cfg.relayRounds} rounds of ${cfg.relayEvents} events in batches of ${cfg.relayBatchSize}`);
    const relay = await runRelay({
      postgresUrl: cfg.postgresUrl,
      brokers: broker.brokers,
      events: cfg.relayEvents,
      batchSize: cfg.relayBatchSize,
      rounds: cfg.relayRounds,
      logger,
      log,
    });
    return { ...scenario, relay };
  } catch (err) {
    log(`${scenario.name}: failed: ${errorText(err)}`);
    return { ...scenario, error: errorText(err) };
  }
}

/**
 * One shopper's checkouts on the distributed mesh, next to the bare round trips measured before
 * it started, each cut into its hops by a consumer of the bench's own.
 */
async function runSagaScenario(
  scenario: SagaScenario,
  url: string,
  brokers: readonly string[],
  roundTrip: { figures?: RoundTripFigures; error?: string },
  cfg: BenchConfig,
): Promise<SagaResult> {
  const observer = await observeSaga(brokers).catch((err: unknown) => {
    log(`${scenario.name}: no breakdown into hops: ${errorText(err)}`);
    return undefined;
  });
  const { checkout, error } = await measureCheckouts(scenario.name, url, 1, cfg.distributedCheckouts, observer?.record);
  const stages: SagaStages | undefined = await observer?.stop();
  const paid = checkout?.checkoutToPaidMs;
  const rt = roundTrip.figures?.roundTripMs;
  const overheadMs = paid && rt ? round2(paid.p50 - scenario.target.hops * rt.p50) : undefined;
  const failure = roundTrip.error ? `bare round trips: ${roundTrip.error}` : error;
  return {
    ...scenario,
    ...(roundTrip.figures ? { roundTrip: roundTrip.figures } : {}),
    ...(checkout ? { checkout } : {}),
    ...(stages ? { stages } : {}),
    ...(overheadMs !== undefined ? { overheadMs } : {}),
    ...(failure ? { error: failure } : {}),
  };
}

/**
 * Postgres and a broker, the relay scenario on them, then the bare round trips (on the broker
 * alone, before the mesh starts) and the checkout scenarios on a distributed mesh. Without
 * Postgres or a broker every scenario of the phase is reported skipped. `kafka` says what broker
 * was used.
 */
export async function runDistributedPhase(run: BenchRun, scenarios: readonly Scenario[]): Promise<PhaseResult & { kafka?: string }> {
  const { cfg, tmp } = run;
  const logger = createLogger({ level: cfg.meshLogLevel ?? "warn" });
  const results: ScenarioResult[] = [];
  const harnessErrors: string[] = [];
  const done = (broker: BenchBroker | undefined) => ({
    scenarios: results,
    harnessErrors,
    ...(broker ? { kafka: broker.description } : {}),
  });
  let skipped = await probePostgres(cfg.postgresUrl, logger);
  let broker: BenchBroker | undefined;
  if (!skipped) {
    try {
      broker = await startBroker({ repoRoot: run.repoRoot, brokers: cfg.kafkaBrokers, logPath: join(tmp, "kafka-broker.log") });
      skipped = await probeBroker(broker.brokers);
    } catch (err) {
      skipped = errorText(err);
    }
  }
  try {
    if (skipped || !broker) {
      log(`distributed: skipped: ${skipped}`);
      for (const s of scenarios) {
        if (s.kind !== "load") results.push({ ...s, skipped: skipped ?? "no broker" });
      }
      return done(broker);
    }
    log(`distributed: Postgres at ${redactUrl(cfg.postgresUrl)}, ${broker.description}`);
    for (const s of scenarios) if (s.kind === "relay") results.push(await runRelayScenario(s, broker, cfg, logger));

    const onMesh = scenarios.filter((s): s is SagaScenario | CheckoutScenario => s.kind === "saga" || s.kind === "checkout");
    if (onMesh.length === 0) return done(broker);
    const roundTrip: { figures?: RoundTripFigures; error?: string } = {};
    if (onMesh.some((s) => s.kind === "saga")) {
      try {
        log(`bare kafkajs round trips: ${cfg.roundTrips}, one at a time`);
        roundTrip.figures = await measureRoundTrips(broker.brokers, cfg.roundTrips);
        log(`bare kafkajs round trip p50 ${roundTrip.figures.roundTripMs.p50} ms, p99 ${roundTrip.figures.roundTripMs.p99} ms`);
      } catch (err) {
        roundTrip.error = errorText(err);
      }
    }
    log("starting the distributed mesh (six services and the edge, each its own process)");
    const started = performance.now();
    const logPath = join(tmp, "distributed.log");
    let dist: BenchDistributedMesh;
    try {
      dist = await startDistributedMesh({
        postgresUrl: cfg.postgresUrl,
        brokers: broker.brokers,
        logPath,
        logLevel: cfg.meshLogLevel ?? "warn",
        readyTimeoutMs: cfg.readyTimeoutMs,
      });
    } catch (err) {
      const error = `the distributed mesh did not start (${logPath}): ${errorText(err)}`;
      for (const s of onMesh) results.push({ ...s, error });
      return done(broker);
    }
    try {
      log(`distributed mesh ready at ${dist.mesh.url} in ${Math.round(performance.now() - started)} ms`);
      for (const s of onMesh) {
        results.push(
          s.kind === "saga"
            ? await runSagaScenario(s, dist.mesh.url, broker.brokers, roundTrip, cfg)
            : await runCheckoutScenario(s, dist.mesh.url, cfg),
        );
      }
      for (const exit of dist.unexpectedExits) harnessErrors.push(`distributed mesh: ${exit}`);
    } finally {
      await dist.stop().catch((err: unknown) => harnessErrors.push(`stopping the distributed mesh: ${errorText(err)}`));
    }
    return done(broker);
  } finally {
    await broker?.stop();
  }
}
