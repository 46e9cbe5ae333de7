import { parseArgs } from "node:util";
import { ConfigError, type ConfigOf, checkTlsConfig, env, loadConfig, tlsVars } from "@shopmesh/platform";

/** Settings of `npm run operator`. Without AUTH_ADDR it reads the address of the running embedded mode. */
export const operatorConfigSchema = {
  AUTH_ADDR: env.optional(env.address({ doc: "host:port of the auth service" })),
  SHOPMESH_DATA_DIR: env.string({
    doc: "data folder of the embedded mode whose addresses are used when AUTH_ADDR is unset",
    default: ".data",
  }),
  // Its call goes over mutual TLS as the "operator-cli" workload; without SHOPMESH_TLS_DIR it uses
  // the folder of the running embedded mode (or <SHOPMESH_DATA_DIR>/tls).
  ...tlsVars(),
};

export type OperatorConfig = ConfigOf<typeof operatorConfigSchema>;

export function readOperatorConfig(source: Record<string, string | undefined> = process.env): OperatorConfig {
  const config = loadConfig(operatorConfigSchema, source);
  checkTlsConfig(config);
  return config;
}

/** `create --email <email> --password <password> [--name <name>]`. */
export interface CreateOperatorCommand {
  readonly command: "create";
  readonly email: string;
  readonly password: string;
  readonly name: string;
}

export const operatorUsage = "usage: npm run operator -- create --email <email> --password <password> [--name <name>]";

/** The command line of `npm run operator`; a ConfigError with the usage when it is not one. */
export function parseOperatorArgs(argv: readonly string[]): CreateOperatorCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new ConfigError(`${err instanceof Error ? err.message : String(err)}\n${operatorUsage}`);
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1 || positionals[0] !== "create") throw new ConfigError(operatorUsage);
  if (!values.email) throw new ConfigError(`--email is required\n${operatorUsage}`);
  if (!values.password) throw new ConfigError(`--password is required\n${operatorUsage}`);
  return { command: "create", email: values.email, password: values.password, name: values.name ?? "" };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { email: { type: "string" }, password: { type: "string" }, name: { type: "string" } },
  });
}
