import {
  ConfigError,
  type KafkaSecurityConfig,
  kafkaSecurity,
  requireDatabaseUrl,
  requireKafkaBrokers,
  type TracingConfig,
  type VarSpec,
} from "./config.js";
import { type Database, openDatabase } from "./db/index.js";
import type { EventBus } from "./events/event-bus.js";
import { createKafkaBus } from "./events/kafka-bus.js";
import { createKafkaProbe } from "./events/kafka-probe.js";
import { kafkaClientSecurity } from "./events/kafka-security.js";
import { createLogger, type Logger } from "./logger.js";
import { createAdminServer } from "./telemetry/admin-server.js";
import { registerReadiness, watchDependency } from "./telemetry/readiness.js";
import { setupTracing, shutdownTracing } from "./telemetry/tracing.js";
import { requireTlsDir, type TlsConfig } from "./tls/config.js";

/**
 * Runs `stop` once on the first SIGTERM or SIGINT. The handlers are removed then, so a second
 * signal ends the process the default way (a second Ctrl-C always works).
 */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT"];
  const onSignal = (signal: NodeJS.Signals) => {
    for (const s of signals) process.off(s, onSignal);
    logger.info({ signal }, "shutting down");
    stop().then(
      () => logger.info("stopped"),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exitCode = 1;
      },
    );
  };
  for (const s of signals) process.on(s, onSignal);
}

/**
 * Entry-point wrapper for `main.ts` files: runs `start`, and on failure prints a ConfigError's
 * message alone (it names the variable) or logs the error, setting a non-zero exit code.
 */
export function runMain(start: () => Promise<void>, logger?: Logger): void {
  start().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
    } else if (logger) {
      logger.fatal({ err }, "failed to start");
    } else {
      process.stderr.write(`failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exitCode = 1;
  });
}

/** What {@link runService} needs of a service once created. */
export interface RunnableService {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

/** The config of a service that {@link runService} can run: the shared variables of `serviceVars`. */
export interface DistributedServiceConfig extends Partial<TracingConfig>, TlsConfig, Partial<KafkaSecurityConfig> {
  readonly DATABASE_URL: string | undefined;
  readonly DATABASE_POOL_SIZE?: number;
  readonly KAFKA_BROKERS: readonly string[] | undefined;
  readonly LOG_LEVEL: string;
  readonly METRICS_HOST: string;
  readonly METRICS_PORT: number;
  readonly ADMIN_GC_ENABLED?: boolean;
}

/**
 * Distributed-mode entry point of a service (its whole `main.ts`): reads its config, opens its
 * Postgres database at DATABASE_URL and a Kafka bus on KAFKA_BROKERS (client id = the service
 * name; TLS and SASL from the KAFKA_SSL* and KAFKA_SASL_* variables), creates and starts the service, which migrates its schema as it starts. The admin
 * server (METRICS_HOST:METRICS_PORT: /metrics, /healthz, /readyz) listens from the beginning;
 * /readyz answers 200 once the service has started and while its database and Kafka answer
 * (the gRPC health follows the database only: without the broker, calls are still served and
 * events wait in the outbox). The first
 * SIGTERM/SIGINT stops the service, then closes the bus, the database and the admin server and
 * flushes the spans still buffered; a failed start does the same before failing. Tracing is set
 * up from the OTEL_* variables first.
 */
export function runService<C extends DistributedServiceConfig>(opts: {
  /** The service's name: the Kafka client id. */
  readonly name: string;
  /** The service's schema; its docs of DATABASE_URL and KAFKA_BROKERS go into the error when one is unset. */
  readonly schema: { readonly DATABASE_URL: VarSpec<string | undefined>; readonly KAFKA_BROKERS: VarSpec<string[] | undefined> };
  readonly readConfig: () => C;
  readonly create: (deps: { config: C; db: Database; logger: Logger; bus: EventBus }) => RunnableService;
}): void {
  runMain(async () => {
    const config = opts.readConfig();
    const { url, brokers } = requireDistributedVars(config, opts.schema);
    const security = kafkaClientSecurity(
      kafkaSecurity({
        KAFKA_SSL: config.KAFKA_SSL ?? false,
        KAFKA_SSL_CA_FILE: config.KAFKA_SSL_CA_FILE,
        KAFKA_SASL_MECHANISM: config.KAFKA_SASL_MECHANISM,
        KAFKA_SASL_USERNAME: config.KAFKA_SASL_USERNAME,
        KAFKA_SASL_PASSWORD: config.KAFKA_SASL_PASSWORD,
      }),
    );
    setupTracing(config);
    // No name here: each service tags its own lines (`service: "auth"`), as in embedded mode.
    const logger = createLogger({ level: config.LOG_LEVEL });
    const db = await openDatabase({ url, poolSize: config.DATABASE_POOL_SIZE }, logger);
    const bus = createKafkaBus({
      brokers,
      clientId: opts.name,
      logger: logger.child({ service: opts.name, component: "kafka" }),
      client: security,
    });
    const log = logger.child({ service: opts.name });
    const admin = createAdminServer({
      host: config.METRICS_HOST,
      port: config.METRICS_PORT,
      logger: log,
      gcEnabled: config.ADMIN_GC_ENABLED,
    });
    let started = false;
    const kafkaProbe = createKafkaProbe(brokers, opts.name, security);
    const broker = watchDependency({
      name: `${opts.name}/kafka`,
      probe: () => kafkaProbe.probe(),
      onChange: (ready, err) => {
        if (ready) log.info({ brokers }, "Kafka answers: ready");
        else log.warn({ err, brokers }, "Kafka does not answer: not ready (calls are still served; events wait in the outbox)");
      },
    });
    const unregister = [registerReadiness({ name: `${opts.name}/started`, ready: () => started }), registerReadiness(broker)];
    const close = async () => {
      for (const u of unregister) u();
      broker.stop();
      await kafkaProbe.close();
      await bus.close();
      await db.close();
      await admin.stop();
      await shutdownTracing();
    };
    let service: RunnableService;
    try {
      service = opts.create({ config, db, logger, bus });
    } catch (err) {
      await close().catch(() => undefined);
      throw err;
    }
    stopOnSignals(async () => {
      await service.stop();
      await close();
    }, logger);
    try {
      await admin.start();
      await service.start();
      started = true;
      await broker.start();
    } catch (err) {
      await service.stop().catch(() => undefined);
      await close().catch(() => undefined);
      throw err;
    }
  });
}

/** DATABASE_URL and KAFKA_BROKERS, one ConfigError naming each that is missing. */
function requireDistributedVars(
  config: DistributedServiceConfig,
  schema: { readonly DATABASE_URL: VarSpec<string | undefined>; readonly KAFKA_BROKERS: VarSpec<string[] | undefined> },
): { url: string; brokers: string[] } {
  const problems: string[] = [];
  const attempt = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err.message);
      return undefined;
    }
  };
  const url = attempt(() => requireDatabaseUrl(config, schema));
  const brokers = attempt(() => requireKafkaBrokers(config, schema));
  // A service process with mutual TLS on needs its certificates' folder; off is refused in production.
  attempt(() => requireTlsDir(config));
  if (url === undefined || brokers === undefined || problems.length > 0) throw new ConfigError(problems.join("; "));
  return { url, brokers };
}
