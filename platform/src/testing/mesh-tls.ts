import { createMeshTls, type MeshTls } from "../tls/credentials.js";

/**
 * The mutual TLS of a test's own clients to services: `workload`'s certificate from the run's test
 * mesh (SHOPMESH_TLS_DIR, set by the global setup); undefined when the run has none.
 */
export function testMeshTls(workload = "operator-cli"): MeshTls | undefined {
  const dir = process.env.SHOPMESH_TLS_DIR;
  return dir ? createMeshTls({ dir, workload }) : undefined;
}

/** The variables that give a service built from a literal config the run's test mesh certificates. */
export function testTlsEnv(): { SHOPMESH_TLS_DIR?: string } {
  const dir = process.env.SHOPMESH_TLS_DIR;
  return dir ? { SHOPMESH_TLS_DIR: dir } : {};
}
