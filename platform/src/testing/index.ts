// The testing kit, for tests. Only its suite helpers (suites.test-support.ts: `describe`
// wrappers and fixtures) import vitest; code that runs outside the test runner, such as the
// bench's soak, imports the module it needs (`@shopmesh/platform/testing/kafka-broker`) instead
// of this index.
export {
  type DatabaseBackend,
  databaseBackend,
  postgresTestUrl,
  type TestDatabase,
} from "./database-backends.js";
export { codeOf, type FaultyDatabase, openFaultyDatabase, whileLocked } from "./database-faults.js";
export { createTestTokenIssuer, type TestTokenIssuer } from "./test-tokens.js";
export {
  type KafkaTestBroker,
  type KafkaTestInfra,
  kafkaMissing,
  kafkaTestInfra,
  openKafkaTestBroker,
  startKafkaTestBroker,
} from "./kafka-broker.js";
export { type MetricSample, metricValue, parseMetrics } from "./metrics-text.js";
export { type PollOptions, pollUntil, waitUntil } from "./poll.js";
export { promtool, promtoolMissing } from "./promtool.js";
export { catalogHandlers } from "./catalog-handlers.js";
export { type CapturedSpan, captureSpans, type OtlpSpanReceiver, receiveOtlpSpans, type SpanCapture, SpanKind } from "./span-capture.js";
export { violatedFields, violatedFieldsOf } from "./violations.js";
export { createTestClient, testMeshTls, testTlsEnv } from "./mesh-tls.js";
export {
  describeNeeding,
  describeWithKafka,
  describeWithPromtool,
  forEachBackend,
  useFaultyDatabase,
  useKafkaBroker,
  useTestDatabase,
} from "./suites.test-support.js";
