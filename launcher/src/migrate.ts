/**
 * `node launcher/dist/migrate.js <service>`: migrates one service's database and exits (the
 * Helm chart's pre-install/pre-upgrade Jobs run it, so that a failing migration stops a release
 * before any pod is replaced). It reads the service's DATABASE_URL, DB_SCHEMA and LOG_LEVEL.
 */
import { runMain } from "@shopmesh/platform";
import { migrateService } from "./service-migrations.js";

runMain(() => migrateService(process.argv[2] ?? ""));
