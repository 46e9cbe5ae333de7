/** The URI SAN prefix of mesh certificates: `spiffe://shopmesh/<workload>`. */
export const workloadUriPrefix = "spiffe://shopmesh/";

/**
 * The workload of a certificate's subjectAltName list ("URI:spiffe://shopmesh/order, DNS:…");
 * undefined without exactly one. grpc-js hands a peer certificate over only once the handshake
 * verified it against the server's CA, so the name in it can be trusted.
 */
export function workloadOfSubjectAltName(san: string): string | undefined {
  const prefix = `URI:${workloadUriPrefix}`;
  const names = san
    .split(/,\s*/)
    .filter((entry) => entry.startsWith(prefix))
    .map((entry) => entry.slice(prefix.length));
  const [name] = names;
  return names.length === 1 && name !== undefined && /^[a-z][a-z0-9-]*$/.test(name) ? name : undefined;
}
