export {
  type DatabaseBackend,
  databaseBackends,
  forEachBackend,
  type TestDatabase,
  useTestDatabase,
} from "./database-backends.js";
