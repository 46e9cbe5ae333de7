export {
  type DatabaseBackend,
  databaseBackends,
  forEachBackend,
  type TestDatabase,
  useTestDatabase,
} from "./database-backends.js";
export { createTestTokenIssuer, type TestTokenIssuer } from "./test-tokens.js";
export {
  describeWithKafka,
  type KafkaTestBroker,
  type KafkaTestInfra,
  kafkaTestInfra,
  startKafkaTestBroker,
  useKafkaBroker,
} from "./kafka-broker.js";
