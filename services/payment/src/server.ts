import { defineService, type ServiceContext, type ServiceOptions, type ServiceServer, serviceRegistration } from "@shopmesh/platform";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import type { PaymentConfig } from "./config.js";
import { paymentMigrations } from "./db/migrations/index.js";
import type { PaymentDb } from "./db/tables.js";
import { subscribeSaga } from "./events/saga-consumer.js";
import { type ChargeRetry, createPayments, type Payments } from "./app/use-cases.js";
import { createDbLedger } from "./db/provider-ledger.repository.js";
import { createFakeProvider } from "./clients/fake-provider.js";
import { withProviderFaults } from "./clients/faulty-provider.js";
import type { PaymentProvider } from "./clients/payment-provider.js";
import { paymentHandlers } from "./rpc/payment-handlers.js";

/**
 * Payment consumes OrderPlaced, StockReserved and StockRejected from the bus (group "payment")
 * and its relay publishes PaymentSucceeded/Failed/Refunded to it. Without a bus, payments are
 * charged through the Charge RPC only.
 */
export interface PaymentServerOptions extends ServiceOptions<PaymentConfig> {
  /** The payment provider; default the built-in fake with PAYMENT_FAILURE_RATE and its ledger in the schema. */
  readonly provider?: PaymentProvider;
  /** Retries of transient provider failures within one charge. */
  readonly chargeRetry?: ChargeRetry;
}

export interface PaymentServer extends ServiceServer {
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly payments: Payments;
}

/** The payment service: its gRPC server over its schema of `db`, resuming the charges a crash interrupted once serving. */
export const createPaymentServer: (opts: PaymentServerOptions) => PaymentServer = defineService({
  name: "payment",
  migrations: paymentMigrations,
  outbox: true,
  providerFaults: true,
  listen: (config: PaymentConfig) => ({ host: config.PAYMENT_HOST, port: config.PAYMENT_PORT }),
  create({ config, db, logger, notifyOutbox, authVerifier, faults }: ServiceContext<PaymentConfig, PaymentDb>, opts: PaymentServerOptions) {
    const given = opts.provider ?? createFakeProvider({ ledger: createDbLedger(db), failureRate: config.PAYMENT_FAILURE_RATE });
    // The provider's answers as an operator faults them (chaos); none in production.
    const provider = faults ? withProviderFaults(given, () => faults.providerFault()) : given;
    const payments = createPayments({
      db,
      logger,
      provider,
      ...(opts.chargeRetry ? { retry: opts.chargeRetry } : {}),
      onEventsWritten: notifyOutbox,
    });
    let resuming: Promise<unknown> | undefined;
    return {
      expose: { payments },
      rpc: serviceRegistration(PaymentService, paymentHandlers(payments)),
      verifier: authVerifier(config),
      afterServe: async () => {
        // Charges a crash interrupted; in the background, so that serving does not wait for the provider.
        resuming = payments.resumePending().catch((err) => logger.error({ err }, "resuming pending payments failed"));
      },
      subscribe: (bus) => [subscribeSaga(bus, db, payments, logger)],
      onStop: async () => {
        await resuming;
      },
    };
  },
});
