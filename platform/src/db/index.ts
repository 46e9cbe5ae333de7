export { type Database, type DatabaseConfig, openDatabase, parseInt8 } from "./database.js";
export { inTransaction, isTransientError, translateDbError, withDbErrors } from "./errors.js";
export { type Migration, migrateToLatest } from "./migrate.js";
export { assertSchemaName } from "./schema-name.js";
export { listenForNotifications, type NotificationListener, type NotificationListenerOptions } from "./listen.js";
export { type EmbeddedPostgres, type EmbeddedPostgresOptions, startEmbeddedPostgres } from "./embedded-postgres.js";
