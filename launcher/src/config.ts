import { type ConfigOf, env, loadConfig } from "@shopmesh/platform";

/** Settings of embedded mode itself; each service and the edge also read their own variables. */
export const embeddedConfigSchema = {
  SHOPMESH_DATA_DIR: env.string({
    doc: 'folder of the embedded PGlite database, kept between runs; "memory" keeps everything in memory',
    default: ".data/pglite",
  }),
  LOG_LEVEL: env.oneOf(["trace", "debug", "info", "warn", "error", "fatal", "silent"], {
    doc: "minimum level of log lines",
    default: "info",
  }),
};

export type EmbeddedConfig = ConfigOf<typeof embeddedConfigSchema>;

export function readEmbeddedConfig(source: Record<string, string | undefined> = process.env): EmbeddedConfig {
  return loadConfig(embeddedConfigSchema, source);
}
