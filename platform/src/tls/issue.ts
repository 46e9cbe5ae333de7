/**
 * The mesh's certificates: one CA (`ca.crt`, `ca.key`, ECDSA P-256) and, per workload, a short-lived
 * leaf (`<workload>.crt`, `<workload>.key`) naming it with the URI SAN `spiffe://shopmesh/<workload>`.
 * node:crypto reads certificates but cannot make them; @peculiar/x509 builds them on WebCrypto.
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

const subtle = webcrypto.subtle;

type X509Library = typeof import("@peculiar/x509");
let x509Library: Promise<X509Library> | undefined;

/**
 * @peculiar/x509, loaded when a certificate is first issued: checking the certificates on disk
 * needs only node:crypto, so a start that finds them current does not load it (with its
 * dependencies, a quarter of a second of module loading).
 */
function loadX509(): Promise<X509Library> {
  x509Library ??= (async () => {
    // It resolves its algorithms through tsyringe, which needs the Reflect metadata API first.
    await import("reflect-metadata");
    const x509 = await import("@peculiar/x509");
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return x509Library;
}

/** Every workload identity of the mesh: its services, the edge and the tools. */
export const meshWorkloads = ["auth", "catalog", "cart", "order", "payment", "notification", "edge", "reconcile", "operator-cli"] as const;

const TRUST_DOMAIN = "shopmesh";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Default lifetime of a workload certificate. */
export const DEFAULT_LEAF_LIFETIME_MS = DAY;
/** Default lifetime of the mesh CA. */
export const DEFAULT_CA_LIFETIME_MS = 365 * DAY;
/** Certificates are backdated by this much, for clocks a little behind. */
const BACKDATE_MS = 5 * 60_000;

/** `spiffe://shopmesh/<workload>`: the URI SAN naming a workload. */
export function spiffeId(workload: string): string {
  return `spiffe://${TRUST_DOMAIN}/${workload}`;
}

/** The workload a SPIFFE id names, or undefined when it is not one of this mesh's. */
export function workloadOfSpiffeId(uri: string): string | undefined {
  const prefix = `spiffe://${TRUST_DOMAIN}/`;
  if (!uri.startsWith(prefix)) return undefined;
  const name = uri.slice(prefix.length);
  return isWorkloadName(name) ? name : undefined;
}

export function isWorkloadName(name: string): boolean {
  return /^[a-z][a-z0-9-]{0,62}$/.test(name);
}

/** A certificate and its private key, both PEM. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

export interface MeshFiles {
  readonly ca: string;
  readonly caKey: string;
  cert(workload: string): string;
  key(workload: string): string;
}

/** Where the files of the mesh in `dir` are. */
export function meshFiles(dir: string): MeshFiles {
  return {
    ca: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    cert: (w) => join(dir, `${w}.crt`),
    key: (w) => join(dir, `${w}.key`),
  };
}

const ecdsa = { name: "ECDSA", namedCurve: "P-256" } as const;
const signing = { name: "ECDSA", hash: "SHA-256" } as const;

type KeyPair = webcrypto.CryptoKeyPair;
type Key = webcrypto.CryptoKey;

async function newKeys(): Promise<KeyPair> {
  return (await subtle.generateKey(ecdsa, true, ["sign", "verify"])) as KeyPair;
}

async function keyPem(key: Key): Promise<string> {
  const der = await subtle.exportKey("pkcs8", key);
  return (await loadX509()).PemConverter.encode(der, "PRIVATE KEY");
}

async function importSigningKey(pem: string): Promise<Key> {
  const der = createPrivateKey(pem).export({ format: "der", type: "pkcs8" });
  return await subtle.importKey("pkcs8", der, ecdsa, false, ["sign"]);
}

function serial(): string {
  // Positive (high bit clear), 16 bytes.
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString("hex");
}

/** A new self-signed mesh CA. */
export async function issueCertificateAuthority(opts: { now?: Date; lifetimeMs?: number; name?: string } = {}): Promise<PemPair> {
  const x509 = await loadX509();
  const now = opts.now ?? new Date();
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${opts.name ?? "shopmesh mesh CA"}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + (opts.lifetimeMs ?? DEFAULT_CA_LIFETIME_MS)),
    keys,
    signingAlgorithm: signing,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

export interface LeafOptions {
  readonly workload: string;
  /** The CA that signs it. */
  readonly ca: PemPair;
  /** Extra DNS names (e.g. Kubernetes service names); the workload's own name and localhost are always there. */
  readonly dnsNames?: readonly string[];
  readonly now?: Date;
  readonly lifetimeMs?: number;
  /** Overrides the validity window (tests: an expired certificate). */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/** A workload certificate signed by `ca`, for both TLS server and client use. */
export async function issueWorkloadCertificate(opts: LeafOptions): Promise<PemPair> {
  if (!isWorkloadName(opts.workload)) throw new Error(`invalid workload name "${opts.workload}"`);
  const x509 = await loadX509();
  const now = opts.now ?? new Date();
  const caCert = new x509.X509Certificate(firstPem(opts.ca.cert));
  const caKey = await importSigningKey(opts.ca.key);
  const keys = await newKeys();
  const dns = [...new Set([opts.workload, "localhost", ...(opts.dnsNames ?? [])])];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.workload}`,
    issuer: caCert.subject,
    notBefore: opts.notBefore ?? new Date(now.getTime() - BACKDATE_MS),
    notAfter: opts.notAfter ?? new Date(now.getTime() + (opts.lifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS)),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: signing,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: "url", value: spiffeId(opts.workload) },
        ...dns.map((value) => ({ type: "dns" as const, value })),
        { type: "ip", value: "127.0.0.1" },
        { type: "ip", value: "::1" },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/** Writes `content` to `path` through a temporary file and a rename: readers see the old file or the new one. */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/** Writes a workload's key, then its certificate (each atomically; keys 0600). */
export async function writeWorkloadIdentity(dir: string, workload: string, pair: PemPair): Promise<void> {
  const files = meshFiles(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(files.key(workload), pair.key, 0o600);
  await writeFileAtomic(files.cert(workload), pair.cert, 0o644);
}

/** Writes the CA (key first). */
export async function writeCertificateAuthority(dir: string, ca: PemPair): Promise<void> {
  const files = meshFiles(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(files.caKey, ca.key, 0o600);
  await writeFileAtomic(files.ca, ca.cert, 0o644);
}

function firstPem(bundle: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(bundle);
  if (!m) throw new Error("no certificate in PEM");
  return m[0];
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** True when less than a third of the certificate's lifetime is left (or it is already over). */
function needsRenewal(cert: X509Certificate, now: Date): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return to - now.getTime() < (to - from) / 3;
}

export interface EnsureMeshOptions {
  /** The folder of the mesh's certificates. */
  readonly dir: string;
  /** The workloads that need a certificate. Default: {@link meshWorkloads}. */
  readonly workloads?: readonly string[];
  /** Extra DNS SANs of a workload's certificate. */
  readonly dnsNames?: (workload: string) => readonly string[];
  readonly leafLifetimeMs?: number;
  readonly caLifetimeMs?: number;
  readonly now?: Date;
}

export interface EnsureMeshResult {
  /** True when a new CA was made (every leaf is then new too). */
  readonly caIssued: boolean;
  /** The workloads whose certificate was (re-)issued. */
  readonly issued: readonly string[];
}

/**
 * Makes sure `dir` holds a valid mesh CA and, for each workload, a certificate signed by it with
 * more than a third of its lifetime left, naming the workload (and `dnsNames`). Issues only what
 * is missing, expiring, or not signed by the current CA; a second call with nothing to do writes
 * nothing. Meant for one issuer per folder (the launcher, an init container, a hook Job).
 */
export async function ensureMeshCertificates(opts: EnsureMeshOptions): Promise<EnsureMeshResult> {
  const now = opts.now ?? new Date();
  const files = meshFiles(opts.dir);
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });

  let ca: PemPair | undefined;
  const caCertPem = await readIfExists(files.ca);
  const caKeyPem = await readIfExists(files.caKey);
  if (caCertPem && caKeyPem) {
    try {
      const cert = new X509Certificate(firstPem(caCertPem));
      if (cert.checkPrivateKey(createPrivateKey(caKeyPem)) && !needsRenewal(cert, now)) ca = { cert: caCertPem, key: caKeyPem };
    } catch {
      ca = undefined;
    }
  }
  let caIssued = false;
  if (!ca) {
    ca = await issueCertificateAuthority({ now, lifetimeMs: opts.caLifetimeMs });
    await writeCertificateAuthority(opts.dir, ca);
    caIssued = true;
  }
  const caCert = new X509Certificate(firstPem(ca.cert));

  const issued: string[] = [];
  for (const workload of opts.workloads ?? meshWorkloads) {
    const dnsNames = opts.dnsNames?.(workload) ?? [];
    if (!caIssued && (await leafIsCurrent(opts.dir, workload, caCert, dnsNames, now))) continue;
    const leaf = await issueWorkloadCertificate({ workload, ca, dnsNames, now, lifetimeMs: opts.leafLifetimeMs });
    await writeWorkloadIdentity(opts.dir, workload, leaf);
    issued.push(workload);
  }
  return { caIssued, issued };
}

async function leafIsCurrent(dir: string, workload: string, ca: X509Certificate, dnsNames: readonly string[], now: Date): Promise<boolean> {
  const files = meshFiles(dir);
  const certPem = await readIfExists(files.cert(workload));
  const keyPem = await readIfExists(files.key(workload));
  if (!certPem || !keyPem) return false;
  try {
    const cert = new X509Certificate(certPem);
    const san = cert.subjectAltName ?? "";
    return (
      cert.verify(ca.publicKey) &&
      cert.checkPrivateKey(createPrivateKey(keyPem)) &&
      san.includes(`URI:${spiffeId(workload)}`) &&
      dnsNames.every((d) => san.includes(`DNS:${d}`)) &&
      !needsRenewal(cert, now)
    );
  } catch {
    return false;
  }
}
