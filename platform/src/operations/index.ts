export { type AuditEntryRow, type AuditLogTable, type AuditRecord, auditMigrations, callActor, listAudit, recordAudit } from "./audit.js";
export { type ConsumerDirectory, recordConsumers } from "./consumers.js";
export { type DeadLetterRow, discardDeadLetter, eventHealth, listDeadLetters, replayDeadLetter } from "./dead-letters.js";
export { deadLetterMessage, operationsRegistration } from "./operations-service.js";
export {
  allPages,
  type BookSources,
  type CheckOptions,
  checkBooks,
  type Discrepancy,
  formatReport,
  type ReconcileReport,
  reconcileBooks,
} from "./reconcile.js";
