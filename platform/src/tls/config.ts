import { ConfigError } from "../config.js";
import type { Logger } from "../logger.js";
import { createMeshTls, type MeshTls } from "./credentials.js";

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
