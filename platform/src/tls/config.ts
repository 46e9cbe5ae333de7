import { ConfigError, env, type VarSpec } from "../config.js";
import type { Logger } from "../logger.js";
import { createMeshTls, type MeshTls } from "./credentials.js";

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

export interface TlsConfig {
  readonly NODE_ENV: string;
  readonly SHOPMESH_MTLS: "on" | "off";
  readonly SHOPMESH_TLS_DIR: string | undefined;
}

/** Refuses SHOPMESH_MTLS=off when NODE_ENV=production. */
export function checkTlsConfig(config: TlsConfig): void {
  if (config.SHOPMESH_MTLS === "off" && config.NODE_ENV === "production") {
    throw new ConfigError("invalid environment variable SHOPMESH_MTLS: mutual TLS cannot be turned off when NODE_ENV=production");
  }
}

/** SHOPMESH_TLS_DIR, which a process with mutual TLS on cannot run without. */
export function requireTlsDir(config: TlsConfig): void {
  checkTlsConfig(config);
  if (config.SHOPMESH_MTLS === "on" && config.SHOPMESH_TLS_DIR === undefined) {
    throw new ConfigError(
      "missing required environment variable SHOPMESH_TLS_DIR (the folder of the mesh's TLS files; or SHOPMESH_MTLS=off for plaintext in development)",
    );
  }
}

/**
 * The mutual TLS of `workload` as configured: its credentials from SHOPMESH_TLS_DIR; undefined
 * (plaintext) when SHOPMESH_MTLS=off, logged as a warning, or when no folder is configured (a
 * process's entry point refuses that with {@link requireTlsDir}). Throws a ConfigError for
 * SHOPMESH_MTLS=off with NODE_ENV=production.
 */
export function meshTlsOf(config: Partial<TlsConfig>, workload: string, logger?: Logger): MeshTls | undefined {
  const c: TlsConfig = {
    NODE_ENV: config.NODE_ENV ?? "development",
    SHOPMESH_MTLS: config.SHOPMESH_MTLS ?? "on",
    SHOPMESH_TLS_DIR: config.SHOPMESH_TLS_DIR,
  };
  checkTlsConfig(c);
  if (c.SHOPMESH_MTLS === "off") {
    logger?.warn({ workload }, "mutual TLS is off (SHOPMESH_MTLS=off): gRPC in plaintext, any local process can call the services");
    return undefined;
  }
  if (c.SHOPMESH_TLS_DIR === undefined) return undefined;
  return createMeshTls({ dir: c.SHOPMESH_TLS_DIR, workload });
}
