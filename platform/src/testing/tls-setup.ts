/**
 * Vitest global setup: unless `SHOPMESH_TLS_DIR` names a folder already, issues one test mesh's
 * CA and workload certificates into a temporary folder for the run and sets `SHOPMESH_TLS_DIR`
 * to it for the test processes, which inherit it: meshes and services started by the tests speak
 * mutual TLS, as they do outside the tests.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureMeshCertificates } from "../tls/issue.js";

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.SHOPMESH_TLS_DIR) return undefined;
  const dir = await mkdtemp(join(tmpdir(), "shopmesh-test-tls-"));
  try {
    await ensureMeshCertificates({ dir });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  process.env.SHOPMESH_TLS_DIR = dir;
  return async () => {
    delete process.env.SHOPMESH_TLS_DIR;
    await rm(dir, { recursive: true, force: true });
  };
}
