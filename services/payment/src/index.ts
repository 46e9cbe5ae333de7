export { type PaymentConfig, paymentConfigSchema, readPaymentConfig } from "./config.js";
export { createPaymentService, type PaymentServer, type PaymentServiceOptions } from "./server.js";
export { paymentMigrations } from "./db/migrations/index.js";
export { PAYMENT_EVENT_TYPES, PAYMENT_GROUP } from "./events/saga-consumer.js";
export type { Payment, PaymentStatus } from "./domain/payment.js";
export type { ChargeRetry, Payments } from "./app/use-cases.js";
export {
  createFakeProvider,
  createMemoryLedger,
  type PaymentProvider,
  type ProviderLedger,
  TEST_TOKENS,
} from "./clients/fake-provider.js";
