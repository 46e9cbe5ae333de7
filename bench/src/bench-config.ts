// The harness's only reader of process.env.

export interface BenchConfig {
  /** Measured load duration per scenario, seconds. */
  readonly durationS: number;
  /** Discarded load before each measured run, seconds (0 disables). */
  readonly warmupS: number;
  readonly connections: number;
  /** Upper bound for a mesh start to reach `/readyz` 200, milliseconds. */
  readonly readyTimeoutMs: number;
  /** Names of phases/scenarios to run; undefined = all. */
  readonly only: ReadonlySet<string> | undefined;
  /** Keep the temp dir (data dirs, child logs) after a successful run. */
  readonly keepTemp: boolean;
  /** Script started as the mesh; undefined = launcher/dist/embedded.js. */
  readonly meshEntry: string | undefined;
  /** LOG_LEVEL as passed through to the mesh, recorded with the results. */
  readonly meshLogLevel: string | undefined;
  /** Concurrent shoppers of the checkout scenario. */
  readonly shoppers: number;
  /** Measured checkouts per shopper, after the warm-up ones. */
  readonly checkoutsPerShopper: number;
  /** Postgres server of the distributed scenarios (a schema or databases of the run's own on it). */
  readonly postgresUrl: string;
  /** A Kafka-protocol broker to use; undefined = start scripts/kafka-test-broker.py for the run. */
  readonly kafkaBrokers: readonly string[] | undefined;
  /** Outbox rows the relay scenario publishes. */
  readonly relayEvents: number;
  /** Rows per relay pass and messages per bare produce request: the relay's default, what services run with. */
  readonly relayBatchSize: number;
  /** Bare producer + relay pairs; the one with the median ratio is reported. */
  readonly relayRounds: number;
  /** Alternating telemetry off/on rounds of the REST read (the checkout gets two: it uses up stock). */
  readonly telemetryRounds: number;
  /** Bare kafkajs round trips measured next to the distributed checkout. */
  readonly roundTrips: number;
  /** Measured checkouts of the one shopper of the distributed checkout scenario. */
  readonly distributedCheckouts: number;
  /** Products the scale phase seeds its mesh with. */
  readonly scaleProducts: number;
  /** Orders the scale phase seeds its mesh with. */
  readonly scaleOrders: number;
  /** Requests/s offered over all connections by the scale phase's paced reads. */
  readonly scaleRate: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

function positiveNumber(name: string, raw: string | undefined, fallback: number, allowZero = false): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigError(`${name} must be a ${allowZero ? "non-negative" : "positive"} number, got "${raw}"`);
  }
  return value;
}

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  const value = positiveNumber(name, raw, fallback);
  if (!Number.isInteger(value)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  return value;
}

function list(raw: string | undefined): string[] | undefined {
  const items = raw
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return items && items.length > 0 ? items : undefined;
}

export function readBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const connections = positiveInteger("BENCH_CONNECTIONS", env.BENCH_CONNECTIONS, 50);
  const only = list(env.BENCH_ONLY);
  return Object.freeze({
    durationS: positiveNumber("BENCH_DURATION", env.BENCH_DURATION, 10),
    warmupS: positiveNumber("BENCH_WARMUP", env.BENCH_WARMUP, 2, true),
    connections,
    readyTimeoutMs: positiveNumber("BENCH_READY_TIMEOUT", env.BENCH_READY_TIMEOUT, 120) * 1000,
    only: only ? new Set(only) : undefined,
    keepTemp: env.BENCH_KEEP_TEMP === "1" || env.BENCH_KEEP_TEMP === "true",
    meshEntry: env.BENCH_MESH_ENTRY?.trim() || undefined,
    meshLogLevel: env.LOG_LEVEL,
    shoppers: positiveInteger("BENCH_SHOPPERS", env.BENCH_SHOPPERS, 20),
    checkoutsPerShopper: positiveInteger("BENCH_CHECKOUTS_PER_SHOPPER", env.BENCH_CHECKOUTS_PER_SHOPPER, 20),
    postgresUrl: env.POSTGRES_URL?.trim() || env.DATABASE_URL?.trim() || "postgres://postgres@127.0.0.1:5432/postgres",
    kafkaBrokers: list(env.KAFKA_BROKERS),
    relayEvents: positiveInteger("BENCH_RELAY_EVENTS", env.BENCH_RELAY_EVENTS, 20_000),
    relayBatchSize: positiveInteger("BENCH_RELAY_BATCH", env.BENCH_RELAY_BATCH, 100),
    relayRounds: positiveInteger("BENCH_RELAY_ROUNDS", env.BENCH_RELAY_ROUNDS, 3),
    telemetryRounds: positiveInteger("BENCH_TELEMETRY_ROUNDS", env.BENCH_TELEMETRY_ROUNDS, 3),
    roundTrips: positiveInteger("BENCH_ROUND_TRIPS", env.BENCH_ROUND_TRIPS, 200),
    distributedCheckouts: positiveInteger("BENCH_DIST_CHECKOUTS", env.BENCH_DIST_CHECKOUTS, 100),
    scaleProducts: positiveInteger("BENCH_SCALE_PRODUCTS", env.BENCH_SCALE_PRODUCTS, 20_000),
    scaleOrders: positiveInteger("BENCH_SCALE_ORDERS", env.BENCH_SCALE_ORDERS, 100_000),
    scaleRate: positiveInteger("BENCH_SCALE_RATE", env.BENCH_SCALE_RATE, 200),
  });
}
