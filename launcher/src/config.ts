import {
  ConfigError,
  type ConfigOf,
  checkTlsConfig,
  env,
  loadConfig,
  logLevels,
  metricsVars,
  tlsVars,
  tracingVars,
} from "@shopmesh/platform";

/** Settings of embedded mode itself; each service and the edge also read their own variables. */
export const embeddedConfigSchema = {
  SHOPMESH_DATA_DIR: env.string({
    doc: 'folder of the embedded PostgreSQL server\'s cluster (in postgres/, one database per service) and of the uploaded product images (in images/, unless EDGE_IMAGE_DIR says otherwise), kept between runs; "memory" uses a temporary folder removed at exit',
    default: ".data",
  }),
  SHOPMESH_POSTGRES_PORT: env.port({
    doc: "loopback port of the embedded PostgreSQL server (0 picks a free one)",
    default: 0,
  }),
  SHOPMESH_POSTGRES_SHARED_BUFFERS_MB: env.int({
    doc: "buffer cache of the embedded PostgreSQL server (shared_buffers) in MB: what it keeps of the databases in its own memory; the operating system's file cache holds the rest of what is read often",
    default: 32,
    min: 16,
  }),
  SHOPMESH_WORKER_THREAD: env.list({
    doc: "services (auth, catalog, cart, order, payment, notification) and the edge that run in a worker thread beside the main one, so that both cores work; 'none' runs everything in the main thread",
    default: ["edge", "cart", "auth"],
  }),
  LOG_LEVEL: env.oneOf(logLevels, {
    doc: "minimum level of log lines",
    default: "info",
  }),
  // One admin server for the whole process: every service's metrics, labelled by service.
  ...metricsVars(),
  // One tracing set-up for the process; each service's spans carry its own service.name.
  ...tracingVars(),
  // The mesh's certificates: issued and renewed by the launcher, under the data folder by default.
  ...tlsVars(),
};

export type EmbeddedConfig = ConfigOf<typeof embeddedConfigSchema>;

const units = new Set(["auth", "catalog", "cart", "order", "payment", "notification", "edge"]);

export function readEmbeddedConfig(source: Record<string, string | undefined> = process.env): EmbeddedConfig {
  const cfg = loadConfig(embeddedConfigSchema, source);
  checkTlsConfig(cfg);
  const worker = cfg.SHOPMESH_WORKER_THREAD;
  if (worker.length === 1 && worker[0] === "none") return { ...cfg, SHOPMESH_WORKER_THREAD: [] };
  const unknown = worker.filter((u) => !units.has(u));
  if (unknown.length > 0) {
    throw new ConfigError(
      `invalid environment variable SHOPMESH_WORKER_THREAD: ${unknown.join(", ")} is no service or the edge (or say "none")`,
    );
  }
  return cfg;
}

/**
 * Settings of the distributed launcher; the services and the edge it starts read their own
 * variables from the same environment (their ports included: 0 makes the launcher pick a free one).
 */
export const distributedConfigSchema = {
  POSTGRES_URL: env.url({
    doc: "Postgres server the services' databases live on, one per service (<SHOPMESH_DB_PREFIX>_<service>, created when missing); its user must be allowed to create databases",
    protocols: ["postgres", "postgresql"],
  }),
  SHOPMESH_DB_PREFIX: env.schemaName({
    doc: "prefix of the service databases' names: shopmesh_auth, shopmesh_catalog, …",
    default: "shopmesh",
  }),
  KAFKA_BROKERS: env.addresses({ doc: "Kafka bootstrap brokers (comma-separated host:port), passed to every service" }),
  EDGE_PORT: env.port({ doc: "port of the edge (0 picks a free one)", default: 8080 }),
  LOG_LEVEL: env.oneOf(logLevels, { doc: "minimum level of the log lines of every process", default: "info" }),
  SHOPMESH_DATA_DIR: env.string({
    doc: "folder the distributed launcher keeps the mesh's certificates (tls/, unless SHOPMESH_TLS_DIR says otherwise) and the edge's product images (images/, unless EDGE_IMAGE_DIR says otherwise) in",
    default: ".data",
  }),
  SHOPMESH_RESTART: env.bool({
    doc: "whether the launcher starts a process that ends on its own (a crash, an outside kill) again, after SHOPMESH_RESTART_DELAY_MS; false: such an exit stops every process and the launcher exits 1",
    default: true,
  }),
  SHOPMESH_RESTART_DELAY_MS: env.int({
    doc: "delay before a process that ended on its own is started again, in ms; each further restart of it waits twice as long as the one before, up to SHOPMESH_RESTART_MAX_DELAY_MS",
    default: 1_000,
    min: 1,
  }),
  SHOPMESH_RESTART_MAX_DELAY_MS: env.int({
    doc: "longest delay between a process's restarts, in ms",
    default: 30_000,
    min: 1,
  }),
  SHOPMESH_RESTART_RESET_MS: env.int({
    doc: "a process that stayed ready this long (in ms) before it ended is restarted after SHOPMESH_RESTART_DELAY_MS again",
    default: 60_000,
    min: 0,
  }),
  // The mesh's certificates: issued and renewed by the launcher, passed to every process.
  ...tlsVars(),
};

export type DistributedConfig = ConfigOf<typeof distributedConfigSchema>;

/** The longest prefix that leaves room for "_notification" in Postgres' 63-byte names. */
const MAX_DB_PREFIX = 63 - "_notification".length;

export function readDistributedConfig(source: Record<string, string | undefined> = process.env): DistributedConfig {
  const cfg = loadConfig(distributedConfigSchema, source);
  checkTlsConfig(cfg);
  if (cfg.SHOPMESH_DB_PREFIX.length > MAX_DB_PREFIX) {
    throw new ConfigError(`invalid environment variable SHOPMESH_DB_PREFIX: at most ${MAX_DB_PREFIX} characters`);
  }
  if (cfg.SHOPMESH_RESTART_MAX_DELAY_MS < cfg.SHOPMESH_RESTART_DELAY_MS) {
    throw new ConfigError(
      `invalid environment variable SHOPMESH_RESTART_MAX_DELAY_MS: must be >= SHOPMESH_RESTART_DELAY_MS (${cfg.SHOPMESH_RESTART_DELAY_MS})`,
    );
  }
  return cfg;
}
