export { type PaymentConfig, paymentConfigSchema, readPaymentConfig } from "./config.js";
export { createPaymentServer, type PaymentServer, type PaymentServerOptions } from "./server.js";
export { paymentMigrations } from "./db/migrations/index.js";
export { PAYMENT_EVENT_TYPES, PAYMENT_GROUP } from "./events/saga-consumer.js";
export type { Payment, PaymentStatus } from "./payment/payment.js";
export type { ChargeRetry, Payments } from "./payment/payment.service.js";
export {
  createFakeProvider,
  createMemoryLedger,
  type PaymentProvider,
  type ProviderLedger,
  TEST_TOKENS,
} from "./provider/fake-provider.js";
