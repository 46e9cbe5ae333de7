export { type PaymentConfig, paymentConfigSchema, readPaymentConfig } from "./config.js";
export { createPaymentServer, type PaymentServer, type PaymentServerOptions } from "./server.js";
export { paymentMigrations } from "./db/migrations/index.js";
export { PAYMENT_EVENT_TYPES, PAYMENT_GROUP } from "./events/saga-consumer.js";
export type { Payment, PaymentStatus } from "./domain/payment.js";
export type { ChargeRetry, Payments } from "./app/use-cases.js";
export { TEST_TOKENS } from "./clients/card-tokenizer.js";
export { createFakeProvider, createMemoryLedger, type ProviderLedger } from "./clients/fake-provider.js";
export type { PaymentProvider } from "./clients/payment-provider.js";
