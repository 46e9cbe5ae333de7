import { type ConfigOf, env, loadConfig } from "@shopmesh/platform";

/**
 * Settings of `npm run seed`. Without POSTGRES_URL it seeds the databases of the running embedded
 * mode (the server it writes down in `<SHOPMESH_DATA_DIR>/addresses.json`).
 */
export const seedConfigSchema = {
  POSTGRES_URL: env.optional(
    env.url({
      doc: "Postgres server holding the services' databases (<SHOPMESH_DB_PREFIX>_<service>) to seed; unset: the running embedded mode's",
      protocols: ["postgres", "postgresql"],
    }),
  ),
  SHOPMESH_DB_PREFIX: env.schemaName({
    doc: "prefix of the service databases' names on POSTGRES_URL",
    default: "shopmesh",
  }),
  SHOPMESH_DATA_DIR: env.string({
    doc: "data folder of the embedded mode whose databases are seeded when POSTGRES_URL is unset",
    default: ".data",
  }),
  SEED_PASSWORD: env.string({
    doc: "password of every seeded shopper (shopper-<n>@seed.shopmesh.test)",
    default: "seed-password",
  }),
};

export type SeedConfig = ConfigOf<typeof seedConfigSchema>;

export function readSeedConfig(source: Record<string, string | undefined> = process.env): SeedConfig {
  return loadConfig(seedConfigSchema, source);
}
