import {
  authorize,
  authVerifier,
  createServiceHost,
  type Database,
  type EventBus,
  type Logger,
  type ServiceHost,
  serviceRegistration,
  type TokenVerifier,
  meshTlsOf,
} from "@shopmesh/platform";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import type { PaymentConfig } from "./config.js";
import { paymentMigrations } from "./db/migrations/index.js";
import type { PaymentDb } from "./db/tables.js";
import { subscribeSaga } from "./events/saga-consumer.js";
import { type ChargeRetry, createPayments, type Payments } from "./app/use-cases.js";
import { createDbLedger } from "./db/provider-ledger.repository.js";
import { createFakeProvider } from "./clients/fake-provider.js";
import type { PaymentProvider } from "./clients/payment-provider.js";
import { paymentHandlers } from "./rpc/payment-handlers.js";

export interface PaymentServiceOptions {
  readonly config: PaymentConfig;
  /** The process's database; payment uses the schema `config.DB_SCHEMA` in it. The caller closes it. */
  readonly db: Database;
  readonly logger: Logger;
  /** Overrides PAYMENT_HOST (embedded mode listens on 127.0.0.1). */
  readonly host?: string;
  /** Overrides PAYMENT_PORT (0 picks a free port). */
  readonly port?: number;
  /**
   * The bus of the saga: payment consumes OrderPlaced, StockReserved and StockRejected from
   * it (group "payment") and its relay publishes PaymentSucceeded/Failed/Refunded to it.
   * Without a bus, payments are charged through the Charge RPC only and events stay in the outbox.
   */
  readonly bus?: EventBus;
  /** Verifies access tokens (GetPayment); default: auth's JWKS from AUTH_ADDR. */
  readonly verifier?: TokenVerifier;
  /** The payment provider; default the built-in fake with PAYMENT_FAILURE_RATE and its ledger in the schema. */
  readonly provider?: PaymentProvider;
  /** Retries of transient provider failures within one charge. */
  readonly chargeRetry?: ChargeRetry;
}

export interface PaymentServer {
  /** Migrates the schema, serves, subscribes to the saga's events and resumes interrupted charges; resolves to the port. */
  start(): Promise<number>;
  /** Graceful stop: the subscription ends, in-flight calls drain, the server closes, the relay stops. */
  stop(): Promise<void>;
  /** The bound port, once started. */
  readonly port: number;
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly payments: Payments;
}

/** The payment service: its gRPC server (with health and reflection) over its schema of `db`. */
export function createPaymentService(opts: PaymentServiceOptions): PaymentServer {
  const { config } = opts;
  const logger = opts.logger.child({ service: "payment" });
  // Mutual TLS as configured: the server, and every client it opens, speak as "payment".
  const tls = meshTlsOf(config, "payment", logger);
  const schema = config.DB_SCHEMA;
  const db = opts.db.kysely<PaymentDb>(schema);
  const provider = opts.provider ?? createFakeProvider({ ledger: createDbLedger(db), failureRate: config.PAYMENT_FAILURE_RATE });
  let host: ServiceHost | undefined;
  const payments = createPayments({
    db,
    logger,
    provider,
    ...(opts.chargeRetry ? { retry: opts.chargeRetry } : {}),
    onEventsWritten: (written) => host?.notifyOutbox(written),
  });
  const auth = authVerifier(config, opts.verifier, logger, tls);
  let resuming: Promise<unknown> | undefined;
  const h = createServiceHost({
    name: "payment",
    logger,
    faults: config,
    db,
    schema,
    migrations: { ...paymentMigrations },
    grpc: {
      tls,
      host: opts.host ?? config.PAYMENT_HOST,
      port: opts.port ?? config.PAYMENT_PORT,
      services: [serviceRegistration(PaymentService, paymentHandlers(payments))],
      interceptors: [authorize({ service: "payment", verifier: auth.verifier })],
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    },
    bus: opts.bus,
    outbox: true,
    afterServe: async () => {
      // Charges a crash interrupted; in the background, so that serving does not wait for the provider.
      resuming = payments.resumePending().catch((err) => logger.error({ err }, "resuming pending payments failed"));
    },
    subscribe: (bus) => [subscribeSaga(bus, db, payments, logger)],
    onStop: async () => {
      await resuming;
      auth.close();
    },
  });
  host = h;
  return {
    payments,
    get port() {
      return h.port;
    },
    start: () => h.start(),
    stop: () => h.stop(),
  };
}
