import { accessSync, constants } from "node:fs";
import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { isWorkloadName, meshFiles, spiffeId } from "./issue.js";
import { workloadOfCertificate } from "./identity.js";

/** How often the certificate files are read again by default: rotated files are in use within this. */
export const DEFAULT_TLS_REFRESH_MS = 60_000;

/**
 * One workload's side of the mesh's mutual TLS: its certificate and key and the mesh CA, read
 * from the folder and read again every `refreshMs`, so rotated files are used by running servers
 * (new connections) and clients (new connections) without a restart.
 */
export interface MeshTls {
  /** The workload this process speaks as. */
  readonly workload: string;
  readonly dir: string;
  /** Server credentials that require a client certificate chained to the mesh CA. */
  serverCredentials(): grpc.ServerCredentials;
  /**
   * Channel credentials presenting this workload's certificate, that accept only a server whose
   * certificate chains to the mesh CA and names `server` (whatever address is dialled).
   */
  channelCredentials(server: string): grpc.ChannelCredentials;
  /** Channel options to use with {@link channelCredentials} (the TLS server name). */
  channelOptions(server: string): grpc.ChannelOptions;
  /** Resolves once the files were read (rejects when they cannot be). */
  ready(): Promise<void>;
}

export interface MeshTlsOptions {
  readonly dir: string;
  readonly workload: string;
  readonly refreshMs?: number;
}

const providers = new Map<string, grpc.experimental.FileWatcherCertificateProvider>();
const serverCredentials = new Map<grpc.experimental.CertificateProvider, grpc.ServerCredentials>();
const channelCredentials = new Map<string, grpc.ChannelCredentials>();

/**
 * The credentials of `workload` from the mesh folder `dir`. Providers and credentials are shared
 * per folder, workload and peer, so clients of the same target share connections as they did in
 * plaintext.
 */
export function createMeshTls(opts: MeshTlsOptions): MeshTls {
  const { dir, workload } = opts;
  if (!isWorkloadName(workload)) throw new Error(`invalid workload name "${workload}"`);
  const refreshMs = opts.refreshMs ?? DEFAULT_TLS_REFRESH_MS;
  const files = meshFiles(dir);
  const key = `${dir}\0${workload}\0${refreshMs}`;
  let provider = providers.get(key);
  if (!provider) {
    provider = new grpc.experimental.FileWatcherCertificateProvider({
      caCertificateFile: files.ca,
      certificateFile: files.cert(workload),
      privateKeyFile: files.key(workload),
      refreshIntervalMs: refreshMs,
    });
    providers.set(key, provider);
  }
  const p = provider;
  return {
    workload,
    dir,
    serverCredentials() {
      let creds = serverCredentials.get(p);
      if (!creds) {
        // grpc-js 1.14 hands this function's first argument to the identity slot and the second
        // to the CA slot: one provider serving both keeps that from mattering.
        creds = grpc.experimental.createCertificateProviderServerCredentials(p, p, true);
        serverCredentials.set(p, creds);
      }
      return creds;
    },
    channelCredentials(server) {
      const ck = `${key}\0${server}`;
      let creds = channelCredentials.get(ck);
      if (!creds) {
        creds = grpc.experimental.createCertificateProviderChannelCredentials(p, p, { checkServerIdentity: expectWorkload(server) });
        channelCredentials.set(ck, creds);
      }
      return creds;
    },
    channelOptions(server) {
      return { "grpc.ssl_target_name_override": server };
    },
    ready() {
      for (const f of [files.ca, files.cert(workload), files.key(workload)]) {
        try {
          accessSync(f, constants.R_OK);
        } catch {
          return Promise.reject(new Error(`mesh TLS: cannot read ${f}`));
        }
      }
      return new Promise<void>((resolve, reject) => {
        const onIdentity = (update: grpc.experimental.IdentityCertificateUpdate | null) => {
          p.removeIdentityCertificateListener(onIdentity);
          if (update) resolve();
          else reject(new Error(`mesh TLS: cannot read the certificate of ${workload} in ${dir}`));
        };
        p.addIdentityCertificateListener(onIdentity);
      });
    },
  };
}

/** A check of the server's certificate (already chained to the mesh CA by then): it must name `server`. */
function expectWorkload(server: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const found = workloadOfCertificate(cert);
    if (found === server) return undefined;
    return Object.assign(new Error(`server certificate names ${found ?? "no workload"}, expected ${spiffeId(server)}`), {
      code: "ERR_TLS_CERT_ALTNAME_INVALID",
    });
  };
}
