export type { Backoff } from "./backoff.js";
export {
  createEnvelope,
  createEventRegistry,
  eventPayloadJson,
  DEAD_LETTER_SUFFIX,
  type Envelope,
  type EnvelopeOptions,
  type EventRegistry,
  eventKeyField,
  eventTopic,
  UnknownEventTypeError,
  uuidv7,
} from "./envelope.js";
export { deadLetterVia, type EventBus, type EventHandler, type Subscription, wrapHandlers } from "./event-bus.js";
export {
  type ConsumeClaimedOptions,
  type ConsumeOptions,
  type ConsumeResult,
  type Consumed,
  consumeClaimed,
  consumeOnce,
  type DeadLetterState,
  type DeadLettersTable,
  type InboxClaimTable,
  type InboxTable,
  inboxMigrations,
  withInboxClaim,
} from "./inbox.js";
export { createKafkaBus, type KafkaBus, type KafkaBusOptions } from "./kafka-bus.js";
export { kafkaClientSecurity } from "./kafka-security.js";
export { createInProcessBus, type InProcessBus, type InProcessBusOptions } from "./in-process-bus.js";
export { createThreadBus, createThreadBusHub, type ThreadBus, type ThreadBusHub, type ThreadBusOptions } from "./thread-bus.js";
export {
  createOutboxRelay,
  type OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRow,
  type OutboxTable,
  outboxBacklog,
  outboxMigrations,
  writeOutbox,
} from "./outbox.js";
export { currentDelivery, type Delivery, type DeliveryOutcome } from "./delivery.js";
export { observeBus } from "./observed-bus.js";
export { type InboxConsumer, subscribeInbox } from "./subscribe-inbox.js";
