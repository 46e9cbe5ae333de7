/**
 * What the deployment tests check the Dockerfile, docker-compose.yml and the Helm chart against:
 * the processes as the code defines them (the scripts `startDistributed` runs, the config schemas
 * the processes validate), and the rules every environment a manifest gives them must follow.
 */
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { type ConfigSchema, loadConfig } from "@shopmesh/platform";
import { parse, parseAllDocuments } from "yaml";
import { configSchemas } from "../../tools/config-table.js";
import { edgeScript, type ServiceName, serviceNames, serviceScript } from "../../distributed-mesh.js";
import { migrationVars } from "../../service-migrations.js";

const rootUrl = new URL("../../../../", import.meta.url);
/** The repository's root folder (the same from src/ and from dist/). */
export const repoRoot = fileURLToPath(rootUrl);
export const repoPath = (path: string): string => fileURLToPath(new URL(path, rootUrl));
export const readRepoFile = (path: string): string => readFileSync(repoPath(path), "utf8");

export type ProcessName = ServiceName | "edge";

export interface DeployedProcess {
  readonly name: ProcessName;
  /** The command its container runs: the script `startDistributed` starts, relative to the repository. */
  readonly command: readonly string[];
  /** The variables it reads (its config schema, as the README's table lists it). */
  readonly schema: ConfigSchema;
  /** The variable of the port it listens on (AUTH_PORT, …, EDGE_PORT). */
  readonly portVar: string;
}

function schemaOf(name: string): ConfigSchema {
  const entry = configSchemas.find((c) => c.process === name);
  if (!entry) throw new Error(`configSchemas has no process ${name}`);
  return entry.schema;
}

const nodeCommand = (script: string) => ["node", relative(repoRoot, script)];

/** The six services and the edge. */
export const processes: readonly DeployedProcess[] = [
  ...serviceNames.map((name) => ({
    name,
    command: nodeCommand(serviceScript(name)),
    schema: schemaOf(name),
    portVar: `${name.toUpperCase()}_PORT`,
  })),
  { name: "edge", command: nodeCommand(edgeScript), schema: schemaOf("edge"), portVar: "EDGE_PORT" },
];

/** The process a container command runs, if it is one of them. */
export function processOfCommand(command: unknown): DeployedProcess | undefined {
  return processes.find((p) => isDeepStrictEqual(p.command, command));
}

export function processNamed(name: string): DeployedProcess {
  const p = processes.find((q) => q.name === name);
  if (!p) throw new Error(`no process ${name}`);
  return p;
}

/** The migration entry point, `node launcher/dist/migrate.js <service>`, as the Helm Jobs run it. */
export const migrateScript = "launcher/dist/migrate.js";

/** The service a migration command migrates, if it is one. */
export function serviceOfMigrateCommand(command: unknown): ServiceName | undefined {
  if (!Array.isArray(command) || command.length !== 3 || command[0] !== "node" || command[1] !== migrateScript) return undefined;
  return serviceNames.find((s) => s === command[2]);
}

/** One variable a manifest sets: a literal value, or a reference the manifest cannot show (a Secret). */
export type EnvEntry = { readonly value: string } | { readonly secret: string };
export type Env = ReadonlyMap<string, EnvEntry>;

/**
 * The variables a process cannot do without in a deployment: those its schema requires, the
 * database and brokers a service needs in distributed mode (runService refuses to start without
 * them), and the address of every peer its schema can call (a peer left to its default would
 * be looked for on 127.0.0.1), and the folder of its mutual TLS certificates (a production
 * process refuses to start without it).
 */
export function neededVars(schema: ConfigSchema): string[] {
  return Object.entries(schema)
    .filter(
      ([name, spec]) =>
        spec.required || name.endsWith("_ADDR") || name === "DATABASE_URL" || name === "KAFKA_BROKERS" || name === "SHOPMESH_TLS_DIR",
    )
    .map(([name]) => name);
}

/**
 * What is wrong with the environment a manifest gives a process whose schema is `schema`:
 * variables the schema does not know, needed ones that are missing, and literal values the
 * schema rejects. Empty when all is well.
 */
export function envProblems(schema: ConfigSchema, env: Env): string[] {
  const problems: string[] = [];
  for (const name of env.keys()) if (!(name in schema)) problems.push(`sets ${name}, which the process does not read`);
  for (const name of neededVars(schema)) if (!env.has(name)) problems.push(`does not set ${name}`);
  // The values it can see must pass the process's own validation; Secrets' values cannot be seen.
  const literal: Record<string, string> = {};
  const checked: ConfigSchema = {};
  for (const [name, spec] of Object.entries(schema)) {
    const e = env.get(name);
    if (e && "secret" in e) continue;
    checked[name] = spec;
    if (e) literal[name] = e.value;
  }
  try {
    loadConfig(checked, literal);
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  return problems;
}

/** The port a process listens on with this environment (its port variable, else the schema's default). */
export function listeningPort(p: DeployedProcess, env: Env): number {
  const e = env.get(p.portVar);
  const raw = e && "value" in e ? e.value : undefined;
  return Number(raw ?? p.schema[p.portVar]?.default);
}

/** The schema of what `node launcher/dist/migrate.js <service>` reads. */
export function migrationSchema(service: ServiceName): ConfigSchema {
  return migrationVars(service);
}

/** A YAML file of the repository, with `<<` merge keys resolved as docker compose does. */
export function readYaml(path: string): unknown {
  return parse(readRepoFile(path), { merge: true });
}

/** The objects of a multi-document YAML stream (helm template's output), empty documents left out. */
export function parseYamlStream(text: string): Array<Record<string, any>> {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      return doc.toJS() as Record<string, any> | null;
    })
    .filter((o): o is Record<string, any> => o !== null);
}

/** Whether the compiled entry point of a command exists (after `npm run build`). */
export function scriptExists(command: readonly string[]): boolean {
  const script = command[1];
  return script !== undefined && existsSync(repoPath(script));
}
