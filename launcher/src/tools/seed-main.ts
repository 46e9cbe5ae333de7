/** `npm run seed -- --products N --orders N [--users N]`: a shop at scale in a mesh's databases (see seed.ts). */
import { parseArgs } from "node:util";
import { ConfigError, runMain } from "@shopmesh/platform";
import { embeddedAddressesFile, readEmbeddedAddresses } from "../embedded-addresses.js";
import { databaseUrl, serviceDatabases } from "../service-databases.js";
import { migrateService } from "../service-migrations.js";
import { AlreadySeededError, defaultUsers, progressBar, seedShop, seedShopperEmail } from "./seed.js";
import { readSeedConfig } from "./seed-config.js";

function count(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

runMain(async () => {
  const { values } = parseArgs({
    options: { products: { type: "string" }, orders: { type: "string" }, users: { type: "string" } },
    strict: true,
  });
  const products = count("products", values.products, 1000, 1);
  const orders = count("orders", values.orders, 10_000, 0);
  const users = count("users", values.users, defaultUsers(orders), 1);
  const config = readSeedConfig();
  let server = config.POSTGRES_URL;
  let prefix = config.SHOPMESH_DB_PREFIX;
  if (server === undefined) {
    const file = embeddedAddressesFile(config.SHOPMESH_DATA_DIR);
    server = readEmbeddedAddresses(file)?.postgres;
    // The embedded mode's databases are always shopmesh_<service>.
    prefix = "shopmesh";
    if (server === undefined) throw new ConfigError(`set POSTGRES_URL, or start the embedded mode (npm start), which writes ${file}`);
  }
  const names = serviceDatabases(prefix);
  const targets = {
    auth: databaseUrl(server, names.auth),
    catalog: databaseUrl(server, names.catalog),
    order: databaseUrl(server, names.order),
    payment: databaseUrl(server, names.payment),
  };
  // As the services do when they start: a database not yet used by a mesh gets its schema.
  for (const [service, url] of Object.entries(targets)) await migrateService(service, { DATABASE_URL: url, LOG_LEVEL: "warn" });
  const bar = progressBar(process.stderr);
  try {
    const summary = await seedShop(targets, { products, orders, users, password: config.SEED_PASSWORD, onProgress: bar.update });
    bar.end();
    process.stdout.write(
      `seeded ${summary.products} products, ${summary.users} shoppers (${seedShopperEmail(1)} … ${seedShopperEmail(summary.users)}) and ` +
        `${summary.orders} orders (paid ${summary.byStatus.PAID}, cancelled ${summary.byStatus.CANCELLED}, refunded ${summary.byStatus.REFUNDED}) ` +
        `in ${summary.seconds.toFixed(1)} s\n`,
    );
  } catch (err) {
    bar.end();
    if (err instanceof AlreadySeededError) {
      process.stderr.write(`seed refused: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
});
