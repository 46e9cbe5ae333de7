import { isAbsolute, join, resolve } from "node:path";
import { ensureMeshCertificates, type Logger, meshWorkloads, startCertificateRenewer, type TlsConfig } from "@shopmesh/platform";

export interface MeshCertificates {
  /** The folder the processes read their certificates from. */
  readonly dir: string;
  stop(): Promise<void>;
}

/**
 * The launcher's part of mutual TLS: makes sure the folder (SHOPMESH_TLS_DIR, default
 * `<data dir>/tls`) holds the mesh CA and a certificate for every workload, then renews them while
 * the mesh runs. Undefined with SHOPMESH_MTLS=off, which is logged as a warning.
 */
export async function startMeshCertificates(config: TlsConfig, dataDir: string, logger: Logger): Promise<MeshCertificates | undefined> {
  if (config.SHOPMESH_MTLS === "off") {
    logger.warn("mutual TLS is off (SHOPMESH_MTLS=off): the services accept plaintext gRPC from anyone who can reach their ports");
    return undefined;
  }
  const given = config.SHOPMESH_TLS_DIR;
  const dir = given === undefined ? join(resolve(dataDir), "tls") : isAbsolute(given) ? given : resolve(given);
  const first = await ensureMeshCertificates({ dir, workloads: meshWorkloads });
  if (first.caIssued || first.issued.length > 0)
    logger.info({ dir, caIssued: first.caIssued, issued: first.issued }, "mesh certificates issued");
  const renewer = startCertificateRenewer({ dir, workloads: meshWorkloads, logger });
  return { dir, stop: () => renewer.stop() };
}
