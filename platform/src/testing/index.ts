export {
  type DatabaseBackend,
  databaseBackend,
  forEachBackend,
  postgresTestUrl,
  type TestDatabase,
  useTestDatabase,
} from "./database-backends.js";
export { codeOf, type FaultyDatabase, useFaultyDatabase, whileLocked } from "./database-faults.js";
export { createTestTokenIssuer, type TestTokenIssuer } from "./test-tokens.js";
export {
  describeWithKafka,
  type KafkaTestBroker,
  type KafkaTestInfra,
  kafkaTestInfra,
  startKafkaTestBroker,
  useKafkaBroker,
} from "./kafka-broker.js";
export { type MetricSample, metricValue, parseMetrics } from "./metrics-text.js";
export { describeNeeding } from "./describe-needing.js";
export { describeWithPromtool, promtool } from "./promtool.js";
export { catalogHandlers } from "./catalog-handlers.js";
export { type CapturedSpan, captureSpans, type OtlpSpanReceiver, receiveOtlpSpans, type SpanCapture, SpanKind } from "./span-capture.js";
export { violatedFields, violatedFieldsOf } from "./violations.js";
export { createTestClient, testMeshTls, testTlsEnv } from "./mesh-tls.js";
