import type { PeerCertificate } from "node:tls";
import { workloadOfSpiffeId } from "./issue.js";

/** What a served grpc-js call offers about its transport (every server call has it). */
export interface CallWithAuthContext {
  getAuthContext(): { readonly sslPeerCertificate?: PeerCertificate | undefined };
}

/**
 * The mesh workload of a peer certificate: the `spiffe://shopmesh/<workload>` URI SAN, or
 * undefined when it has none. The certificate's chain was verified by the TLS handshake.
 */
export function workloadOfCertificate(cert: Pick<PeerCertificate, "subjectaltname"> | undefined): string | undefined {
  const san = cert?.subjectaltname;
  if (!san) return undefined;
  for (const entry of san.split(", ")) {
    if (!entry.startsWith("URI:")) continue;
    const workload = workloadOfSpiffeId(entry.slice(4));
    if (workload) return workload;
  }
  return undefined;
}

/**
 * The calling workload of a served call, from the client certificate it presented over mutual
 * TLS; undefined on a plaintext connection or when the certificate names no mesh workload.
 */
export function callerWorkload(call: CallWithAuthContext): string | undefined {
  return workloadOfCertificate(call.getAuthContext().sslPeerCertificate);
}
