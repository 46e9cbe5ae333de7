import { authConfigSchema, authMigrations } from "@shopmesh/auth";
import { cartConfigSchema, cartMigrations } from "@shopmesh/cart";
import { catalogConfigSchema, catalogMigrations } from "@shopmesh/catalog";
import { notificationConfigSchema, notificationMigrations } from "@shopmesh/notification";
import { orderConfigSchema, orderMigrations } from "@shopmesh/order";
import { paymentConfigSchema, paymentMigrations } from "@shopmesh/payment";
import {
  ConfigError,
  createLogger,
  loadConfig,
  type LogLevel,
  type Migration,
  migrateToLatest,
  openDatabase,
  requireDatabaseUrl,
  type VarSpec,
} from "@shopmesh/platform";
import { type ServiceName, serviceNames } from "./distributed-mesh.js";

/** The variables a migration reads, declared by the service itself (same names, docs and defaults). */
type MigrationVars = {
  readonly DATABASE_URL: VarSpec<string | undefined>;
  readonly DB_SCHEMA: VarSpec<string>;
  readonly LOG_LEVEL: VarSpec<LogLevel>;
};

const pick = (schema: MigrationVars): MigrationVars => ({
  DATABASE_URL: schema.DATABASE_URL,
  DB_SCHEMA: schema.DB_SCHEMA,
  LOG_LEVEL: schema.LOG_LEVEL,
});

const services: Readonly<Record<ServiceName, { vars: MigrationVars; migrations: Record<string, Migration> }>> = {
  auth: { vars: pick(authConfigSchema), migrations: authMigrations },
  catalog: { vars: pick(catalogConfigSchema), migrations: catalogMigrations },
  cart: { vars: pick(cartConfigSchema), migrations: cartMigrations },
  order: { vars: pick(orderConfigSchema), migrations: orderMigrations },
  payment: { vars: pick(paymentConfigSchema), migrations: paymentMigrations },
  notification: { vars: pick(notificationConfigSchema), migrations: notificationMigrations },
};

/** The variables `migrateService(service)` reads: a subset of that service's own schema. */
export function migrationVars(service: ServiceName): MigrationVars {
  return services[service].vars;
}

/**
 * Brings `service`'s schema (DB_SCHEMA, default the service's) in the Postgres database at
 * DATABASE_URL to its latest migration, as the service itself does when it starts, and closes
 * the connection. Throws a ConfigError for an unknown service or a missing or bad variable.
 */
export async function migrateService(service: string, source: Record<string, string | undefined> = process.env): Promise<void> {
  if (!isServiceName(service)) {
    throw new ConfigError(`unknown service ${JSON.stringify(service)}: expected one of ${serviceNames.join(", ")}`);
  }
  const { vars, migrations } = services[service];
  const config = loadConfig(vars, source);
  const url = requireDatabaseUrl(config, vars);
  const logger = createLogger({ name: `${service}-migrate`, level: config.LOG_LEVEL });
  const db = await openDatabase({ url, poolSize: 1 }, logger);
  try {
    await migrateToLatest(db.kysely(config.DB_SCHEMA), config.DB_SCHEMA, migrations, logger);
    logger.info({ schema: config.DB_SCHEMA, migrations: Object.keys(migrations).length }, "schema up to date");
  } finally {
    await db.close();
  }
}

function isServiceName(name: string): name is ServiceName {
  return (serviceNames as readonly string[]).includes(name);
}
