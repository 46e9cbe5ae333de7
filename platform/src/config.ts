/**
 * Environment configuration, declared as data so it can be validated at start and checked
 * against deployment manifests. `loadConfig` is the only place that reads `process.env`.
 */

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface VarSpec<T> {
  readonly kind: string;
  /** Human description, shown in errors and the README's configuration table. */
  readonly doc: string;
  readonly default?: T;
  readonly required: boolean;
  parse(raw: string, name: string): T;
}

type Opts<T> = { doc: string; default?: T };

function spec<T>(kind: string, opts: Opts<T>, parse: (raw: string, name: string) => T): VarSpec<T> {
  return { kind, doc: opts.doc, default: opts.default, required: opts.default === undefined, parse };
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
      if (!/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(raw)) fail(name, `expected host:port, got "${raw}"`);
      return raw;
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

/** Rows for the README's configuration table. */
export function describeConfig(schema: ConfigSchema): Array<{ name: string; kind: string; default: string; doc: string }> {
  return Object.entries(schema).map(([name, s]) => ({
    name,
    kind: s.kind,
    default: s.required ? "(required)" : s.default === undefined ? "(unset)" : JSON.stringify(s.default),
    doc: s.doc,
  }));
}
