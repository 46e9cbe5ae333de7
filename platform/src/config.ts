/**
 * Environment configuration, declared as data so it can be validated at start and checked
 * against deployment manifests. `loadConfig` is the only place that reads `process.env`.
 */

import { isSchemaName } from "./db/schema-name.js";
import { type EventFaults, type FaultSpec, parseFault } from "./faults/fault-spec.js";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface VarSpec<T> {
  readonly kind: string;
  /** Human description, shown in errors and the configuration table (docs/configuration.md). */
  readonly doc: string;
  readonly default?: T;
  readonly required: boolean;
  parse(raw: string, name: string): T;
}

type Opts<T> = { doc: string; default?: T };

function spec<T>(kind: string, opts: Opts<T>, parse: (raw: string, name: string) => T): VarSpec<T> {
  return { kind, doc: opts.doc, default: opts.default, required: opts.default === undefined, parse };
}

function isAddress(raw: string): boolean {
  return /^[^\s:,]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(raw);
}

function fail(name: string, why: string): never {
  throw new ConfigError(`invalid environment variable ${name}: ${why}`);
}

export const env = {
  string(opts: Opts<string>): VarSpec<string> {
    return spec("string", opts, (raw) => raw);
  },
  int(opts: Opts<number> & { min?: number; max?: number }): VarSpec<number> {
    return spec("integer", opts, (raw, name) => {
      if (!/^-?\d+$/.test(raw.trim())) fail(name, `expected an integer, got "${raw}"`);
      const n = Number(raw);
      if (opts.min !== undefined && n < opts.min) fail(name, `must be >= ${opts.min}, got ${n}`);
      if (opts.max !== undefined && n > opts.max) fail(name, `must be <= ${opts.max}, got ${n}`);
      return n;
    });
  },
  port(opts: Opts<number>): VarSpec<number> {
    return env.int({ ...opts, min: 0, max: 65535 });
  },
  bool(opts: Opts<boolean>): VarSpec<boolean> {
    return spec("boolean", opts, (raw, name) => {
      const v = raw.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off"].includes(v)) return false;
      return fail(name, `expected true/false, got "${raw}"`);
    });
  },
  oneOf<const T extends string>(values: readonly T[], opts: Opts<T>): VarSpec<T> {
    return spec(values.join("|"), opts, (raw, name) => {
      if (!(values as readonly string[]).includes(raw)) fail(name, `expected one of ${values.join(", ")}, got "${raw}"`);
      return raw as T;
    });
  },
  url(opts: Opts<string> & { protocols?: string[] }): VarSpec<string> {
    return spec("url", opts, (raw, name) => {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        return fail(name, `expected a URL, got "${raw.replace(/\/\/[^@/]*@/, "//***@")}"`);
      }
      if (opts.protocols && !opts.protocols.includes(u.protocol.replace(/:$/, ""))) {
        fail(name, `expected a ${opts.protocols.join(" or ")} URL`);
      }
      return raw;
    });
  },
  /** host:port of a gRPC peer. */
  address(opts: Opts<string>): VarSpec<string> {
    return spec("host:port", opts, (raw, name) => {
      if (!isAddress(raw)) fail(name, `expected host:port, got "${raw}"`);
      return raw;
    });
  },
  /** A comma-separated list of host:port, at least one (Kafka bootstrap brokers). */
  addresses(opts: Opts<string[]>): VarSpec<string[]> {
    return spec("host:port list", opts, (raw, name) => {
      const list = raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      if (list.length === 0) fail(name, "expected at least one host:port");
      for (const a of list) if (!isAddress(a)) fail(name, `expected host:port, got "${a}"`);
      return list;
    });
  },
  list(opts: Opts<string[]>): VarSpec<string[]> {
    return spec("comma-separated list", opts, (raw) =>
      raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    );
  },
  /** A Postgres schema name: a lowercase SQL identifier not starting with `pg_`. */
  schemaName(opts: Opts<string>): VarSpec<string> {
    return spec("identifier", opts, (raw, name) => {
      if (!isSchemaName(raw)) fail(name, `expected a lowercase SQL identifier, got "${raw}"`);
      return raw;
    });
  },
  /** A value that may be left unset; the config then holds `undefined`. */
  optional<T>(inner: VarSpec<T>): VarSpec<T | undefined> {
    return { ...inner, required: false, default: undefined, parse: inner.parse };
  },
};

export type ConfigSchema = Record<string, VarSpec<unknown>>;
export type ConfigOf<S extends ConfigSchema> = { readonly [K in keyof S]: S[K] extends VarSpec<infer T> ? T : never };

/**
 * Reads and validates every variable of `schema` (keys are the variable names). Throws a
 * ConfigError naming every missing or malformed variable.
 */
export function loadConfig<S extends ConfigSchema>(schema: S, source: Record<string, string | undefined> = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(schema)) {
    const raw = source[name];
    if (raw === undefined || raw === "") {
      if (s.required) problems.push(`missing required environment variable ${name} (${s.doc})`);
      else out[name] = s.default;
      continue;
    }
    try {
      out[name] = s.parse(raw, name);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  return Object.freeze(out) as ConfigOf<S>;
}

/** Rows for the configuration table (docs/configuration.md). */
export function describeConfig(schema: ConfigSchema): Array<{ name: string; kind: string; default: string; doc: string }> {
  return Object.entries(schema).map(([name, s]) => ({
    name,
    kind: s.kind,
    default: s.required ? "(required)" : s.default === undefined ? "(unset)" : JSON.stringify(s.default),
    doc: s.doc,
  }));
}

export const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

const exporters = ["otlp", "console", "none"] as const;
const samplers = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/** The standard OpenTelemetry variables a process reads to set up tracing. */
export function tracingVars(): {
  readonly OTEL_EXPORTER_OTLP_ENDPOINT: VarSpec<string | undefined>;
  readonly OTEL_SERVICE_NAME: VarSpec<string | undefined>;
  readonly OTEL_TRACES_EXPORTER: VarSpec<(typeof exporters)[number] | undefined>;
  readonly OTEL_TRACES_SAMPLER: VarSpec<(typeof samplers)[number]>;
  readonly OTEL_TRACES_SAMPLER_ARG: VarSpec<string | undefined>;
} {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: env.optional(
      env.url({
        doc: "OTLP/HTTP endpoint spans are sent to (e.g. http://otel-collector:4318); the other OTEL_EXPORTER_OTLP_* variables (headers, timeout) apply too",
        protocols: ["http", "https"],
      }),
    ),
    OTEL_SERVICE_NAME: env.optional(env.string({ doc: "service.name of the spans; default: the service's own name" })),
    OTEL_TRACES_EXPORTER: env.optional(
      env.oneOf(exporters, {
        doc: "where spans go: otlp, console or none; unset: otlp when OTEL_EXPORTER_OTLP_ENDPOINT is set, otherwise none (trace ids still propagate and appear in logs)",
      }),
    ),
    OTEL_TRACES_SAMPLER: env.oneOf(samplers, { doc: "which traces are recorded (with an exporter)", default: "parentbased_always_on" }),
    OTEL_TRACES_SAMPLER_ARG: env.optional(env.string({ doc: "ratio (0..1) for the traceidratio samplers; default 1" })),
  };
}

export type TracingConfig = ConfigOf<ReturnType<typeof tracingVars>>;

/** The admin HTTP server of a process: Prometheus metrics, liveness and readiness. */
export function metricsVars(): {
  readonly METRICS_HOST: VarSpec<string>;
  readonly METRICS_PORT: VarSpec<number>;
  readonly ADMIN_GC_ENABLED: VarSpec<boolean>;
} {
  return {
    ADMIN_GC_ENABLED: env.bool({
      doc: "Serve POST /gc on the admin port: a full garbage collection, answering the process's memory before and after (for leak checks such as npm run soak); off in production",
      default: false,
    }),
    METRICS_HOST: env.string({ doc: "Interface of the admin HTTP server (/metrics, /healthz, /readyz)", default: "0.0.0.0" }),
    METRICS_PORT: env.port({
      doc: "Port of the admin HTTP server: Prometheus metrics at GET /metrics, liveness at /healthz, readiness at /readyz (0 picks a free one)",
      default: 9464,
    }),
  };
}

const switches = ["on", "off"] as const;

/** The mutual TLS variables of every process that serves or calls the mesh's gRPC. */
export function tlsVars(): {
  readonly NODE_ENV: VarSpec<string>;
  readonly SHOPMESH_MTLS: VarSpec<(typeof switches)[number]>;
  readonly SHOPMESH_TLS_DIR: VarSpec<string | undefined>;
} {
  return {
    NODE_ENV: env.string({
      doc: '"production" forbids the development opt-outs (SHOPMESH_MTLS=off, FAULTS_ENABLED at the edge)',
      default: "development",
    }),
    SHOPMESH_MTLS: env.oneOf(switches, {
      doc: "Mutual TLS on every gRPC hop: on, or off (plaintext, a development opt-out: a warning at start, refused when NODE_ENV=production)",
      default: "on",
    }),
    SHOPMESH_TLS_DIR: env.optional(
      env.string({
        doc: "Folder of the mesh's TLS files: ca.crt and, per workload, <workload>.crt and <workload>.key (read again every minute, so rotated files are used without a restart); the embedded and distributed launchers default it to <data dir>/tls and create the files",
      }),
    ),
  };
}

/**
 * The variables every service declares: its database, schema, event brokers, log level, shutdown
 * grace, admin port, tracing and mutual TLS.
 */
export function serviceVars(
  service: string,
  opts: { schema: string },
): {
  readonly DATABASE_URL: VarSpec<string | undefined>;
  readonly DATABASE_POOL_SIZE: VarSpec<number>;
  readonly DB_SCHEMA: VarSpec<string>;
  readonly KAFKA_BROKERS: VarSpec<string[] | undefined>;
  readonly LOG_LEVEL: VarSpec<LogLevel>;
  readonly METRICS_HOST: VarSpec<string>;
  readonly METRICS_PORT: VarSpec<number>;
  readonly SHUTDOWN_GRACE_MS: VarSpec<number>;
} & ReturnType<typeof tracingVars> &
  ReturnType<typeof faultVars> &
  ReturnType<typeof tlsVars> &
  ReturnType<typeof kafkaSecurityVars> {
  return {
    ...metricsVars(),
    ...tlsVars(),
    ...tracingVars(),
    ...faultVars(),
    ...kafkaSecurityVars(),
    DATABASE_URL: env.optional(
      env.url({ doc: `Postgres URL of the ${service} database (required in distributed mode)`, protocols: ["postgres", "postgresql"] }),
    ),
    DATABASE_POOL_SIZE: env.int({
      doc: `Most connections the ${service} service holds open to its database (each is a PostgreSQL backend process); npm start gives every service 4 unless this is set`,
      default: 10,
      min: 1,
    }),
    DB_SCHEMA: env.schemaName({ doc: `Database schema holding the ${service} tables`, default: opts.schema }),
    KAFKA_BROKERS: env.optional(
      env.addresses({
        doc: "Kafka bootstrap brokers the domain events go through, comma-separated host:port (required in distributed mode)",
      }),
    ),
    LOG_LEVEL: env.oneOf(logLevels, { doc: "Minimum level of log lines", default: "info" }),
    SHUTDOWN_GRACE_MS: env.int({ doc: "How long a stop waits for in-flight calls, in ms", default: 10_000, min: 0 }),
  };
}

export const kafkaSaslMechanisms = ["scram-sha-256", "scram-sha-512"] as const;
export type KafkaSaslMechanism = (typeof kafkaSaslMechanisms)[number];

/** How a service's Kafka client secures its connections to the brokers: TLS and SASL/SCRAM. */
export function kafkaSecurityVars(): {
  readonly KAFKA_SSL: VarSpec<boolean>;
  readonly KAFKA_SSL_CA_FILE: VarSpec<string | undefined>;
  readonly KAFKA_SASL_MECHANISM: VarSpec<KafkaSaslMechanism | undefined>;
  readonly KAFKA_SASL_USERNAME: VarSpec<string | undefined>;
  readonly KAFKA_SASL_PASSWORD: VarSpec<string | undefined>;
} {
  return {
    KAFKA_SSL: env.bool({ doc: "Connect to the Kafka brokers over TLS, checking their certificates", default: false }),
    KAFKA_SSL_CA_FILE: env.optional(
      env.string({
        doc: "PEM file of the CA certificates the brokers' certificates are checked against (needs KAFKA_SSL=true); unset: Node's trusted CAs",
      }),
    ),
    KAFKA_SASL_MECHANISM: env.optional(
      env.oneOf(kafkaSaslMechanisms, {
        doc: "SASL mechanism the service authenticates to the brokers with, as its own Kafka principal (needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD); unset: no SASL",
      }),
    ),
    KAFKA_SASL_USERNAME: env.optional(env.string({ doc: "SASL user name: the service's Kafka principal, which the brokers' ACLs name" })),
    KAFKA_SASL_PASSWORD: env.optional(env.string({ doc: "SASL password of KAFKA_SASL_USERNAME (pass it from a secret)" })),
  };
}

export type KafkaSecurityConfig = ConfigOf<ReturnType<typeof kafkaSecurityVars>>;

/** What a Kafka client needs to know of its connection's security, checked across variables. */
export interface KafkaSecurity {
  /** TLS, with the CA file to check the brokers against (else Node's trusted CAs); undefined: plaintext. */
  readonly ssl: { readonly caFile: string | undefined } | undefined;
  readonly sasl: { readonly mechanism: KafkaSaslMechanism; readonly username: string; readonly password: string } | undefined;
}

/**
 * The Kafka security settings of `config`, or a ConfigError naming every variable that is
 * missing or set without what it needs (a SASL user without a mechanism, a CA file without TLS).
 */
export function kafkaSecurity(config: KafkaSecurityConfig): KafkaSecurity {
  const problems: string[] = [];
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  if (mechanism !== undefined) {
    if (username === undefined) problems.push("missing required environment variable KAFKA_SASL_USERNAME (KAFKA_SASL_MECHANISM is set)");
    if (password === undefined) problems.push("missing required environment variable KAFKA_SASL_PASSWORD (KAFKA_SASL_MECHANISM is set)");
  } else {
    for (const [name, value] of [
      ["KAFKA_SASL_USERNAME", username],
      ["KAFKA_SASL_PASSWORD", password],
    ] as const) {
      if (value !== undefined) problems.push(`invalid environment variable ${name}: set without KAFKA_SASL_MECHANISM`);
    }
  }
  if (config.KAFKA_SSL_CA_FILE !== undefined && !config.KAFKA_SSL) {
    problems.push("invalid environment variable KAFKA_SSL_CA_FILE: set without KAFKA_SSL=true");
  }
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  return {
    ssl: config.KAFKA_SSL ? { caFile: config.KAFKA_SSL_CA_FILE } : undefined,
    sasl: mechanism !== undefined && username !== undefined && password !== undefined ? { mechanism, username, password } : undefined,
  };
}

/** The variables of a service that verifies access tokens against the auth service's keys. */
export function authVars(): {
  readonly AUTH_ADDR: VarSpec<string | undefined>;
  readonly AUTH_AUDIENCE: VarSpec<string>;
  readonly AUTH_ISSUER: VarSpec<string>;
} {
  return {
    AUTH_ADDR: env.optional(
      env.address({ doc: "host:port of the auth service, whose GetJwks verifies access tokens (required unless a verifier is injected)" }),
    ),
    AUTH_AUDIENCE: env.string({ doc: "Expected `aud` claim of access tokens", default: "shopmesh" }),
    AUTH_ISSUER: env.string({ doc: "Expected `iss` claim of access tokens", default: "shopmesh" }),
  };
}

/** `schema` with its variables in name order, the order the README's table lists them in. */
export function byName<S extends ConfigSchema>(schema: S): S {
  return Object.fromEntries(Object.entries(schema).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as S;
}

/** DATABASE_URL, which distributed mode cannot run without. */
export function requireDatabaseUrl(
  config: { readonly DATABASE_URL: string | undefined },
  schema: { readonly DATABASE_URL: VarSpec<string | undefined> },
): string {
  if (config.DATABASE_URL === undefined) {
    throw new ConfigError(`missing required environment variable DATABASE_URL (${schema.DATABASE_URL.doc})`);
  }
  return config.DATABASE_URL;
}

/** KAFKA_BROKERS, which distributed mode cannot run without. */
export function requireKafkaBrokers(
  config: { readonly KAFKA_BROKERS: readonly string[] | undefined },
  schema: { readonly KAFKA_BROKERS: VarSpec<string[] | undefined> },
): string[] {
  if (config.KAFKA_BROKERS === undefined) {
    throw new ConfigError(`missing required environment variable KAFKA_BROKERS (${schema.KAFKA_BROKERS.doc})`);
  }
  return [...config.KAFKA_BROKERS];
}

/** The variables that turn fault injection on; every service declares them (off by default). */
export function faultVars(): {
  readonly FAULTS_ENABLED: VarSpec<boolean>;
  readonly FAULTS_EVENTS: VarSpec<EventFaults | undefined>;
} {
  return {
    FAULTS_ENABLED: env.bool({
      doc: "Honour `x-fault: delay=200ms;code=UNAVAILABLE;rate=0.3` metadata on every gRPC method, and FAULTS_EVENTS; for tests and demos only",
      default: false,
    }),
    FAULTS_EVENTS: {
      kind: "type=fault list",
      doc: 'Faults of event deliveries when FAULTS_ENABLED, comma-separated `<event type or *>=<fault>`, e.g. "shop.catalog.v1.StockReserved=code=UNAVAILABLE;rate=0.3": each attempt of the consumer fails, as a consumer failing on that type would; a transient code (UNAVAILABLE…) is delivered again by the bus, any other is dead-lettered after the attempts (a poison event)',
      required: false,
      parse(raw: string, name: string): EventFaults {
        const out = new Map<string, FaultSpec>();
        for (const entry of raw.split(",")) {
          const item = entry.trim();
          if (item === "") continue;
          const eq = item.indexOf("=");
          if (eq <= 0) throw new ConfigError(`invalid environment variable ${name}: expected <event type>=<fault>, got "${item}"`);
          try {
            out.set(item.slice(0, eq).trim(), parseFault(item.slice(eq + 1)));
          } catch (err) {
            throw new ConfigError(`invalid environment variable ${name}: ${(err as Error).message}`);
          }
        }
        return out;
      },
    } satisfies VarSpec<EventFaults | undefined>,
  };
}
