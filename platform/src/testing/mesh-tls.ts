import type { DescService } from "@bufbuild/protobuf";
import { callPolicyOf, RECONCILE_WORKLOAD } from "../auth/authorize.js";
import { type Client, type ClientOptions, composeClient, createClient } from "../grpc/client.js";
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

/**
 * A client of `service` for tests that call its methods directly: each method goes through a
 * client presenting the workload its call policy lets in (the first it names, `reconcile` for an
 * operator method), from the run's test mesh; plaintext when the run has none. `closeClient`
 * closes every underlying client.
 */
export function createTestClient<S extends DescService>(service: S, address: string, opts: Omit<ClientOptions, "tls"> = {}): Client<S> {
  const dir = process.env.SHOPMESH_TLS_DIR;
  if (!dir) return createClient(service, address, opts);
  const byWorkload = new Map<string, Client<S>>();
  const parts: object[] = [];
  const clientAs = (workload: string): Client<S> => {
    let c = byWorkload.get(workload);
    if (!c) {
      c = createClient(service, address, { ...opts, tls: createMeshTls({ dir, workload }) });
      byWorkload.set(workload, c);
      parts.push(c);
    }
    return c;
  };
  const out: Record<string, unknown> = {};
  for (const method of service.methods) {
    const p = callPolicyOf(method);
    const workload = p?.workloads[0] ?? (p?.operator ? RECONCILE_WORKLOAD : "operator-cli");
    out[method.localName] = (...args: unknown[]) =>
      (clientAs(workload) as unknown as Record<string, (...a: unknown[]) => unknown>)[method.localName]?.(...args);
  }
  // The parts are made on first use; closing closes those made by then.
  composeClient(out, parts);
  return out as Client<S>;
}
