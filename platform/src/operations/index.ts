export { type AuditEntryRow, type AuditLogTable, type AuditRecord, auditMigrations, callActor, listAudit, recordAudit } from "./audit.js";
export { type ConsumerDirectory, recordConsumers } from "./consumers.js";
export { type DeadLetterRow, discardDeadLetter, eventHealth, listDeadLetters, replayDeadLetter } from "./dead-letters.js";
export { deadLetterMessage, operationsRegistration } from "./operations-service.js";
