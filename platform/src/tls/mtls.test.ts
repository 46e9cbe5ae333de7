import { X509Certificate } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { CatalogService, ProductSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeClient, createClient } from "../grpc/client.js";
import { currentCall } from "../grpc/context.js";
import { createGrpcServer, type GrpcServer } from "../grpc/server.js";
import { serviceRegistration } from "../grpc/service.js";
import { createLogger } from "../logger.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { waitUntil } from "../testing/poll.js";
import { createMeshTls, type MeshTls } from "./credentials.js";
import {
  ensureMeshCertificates,
  issueCertificateAuthority,
  issueWorkloadCertificate,
  meshFiles,
  type PemPair,
  writeCertificateAuthority,
  writeWorkloadIdentity,
} from "./issue.js";

/**
 * Mutual TLS through real gRPC: a server and clients of the platform over certificates issued
 * into temporary folders. Files are read again every 20 ms here, so rotations are seen quickly;
 * the tests wait for the outcome they expect, never for a time.
 */
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const REFRESH_MS = 20;
const cleanups: Array<() => Promise<void> | void> = [];
const folders: string[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  for (const f of folders) await rm(f, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "shopmesh-tls-"));
  folders.push(dir);
  return dir;
}

/** A catalog server whose GetProduct answers the calling workload as the product's name. */
async function serve(tls: MeshTls | undefined, port = 0): Promise<GrpcServer> {
  const server = createGrpcServer({
    name: "catalog",
    host: "127.0.0.1",
    port,
    logger,
    tls,
    services: [
      serviceRegistration(
        CatalogService,
        catalogHandlers({
          getProduct: async (req) => ({ product: create(ProductSchema, { id: req.id, name: currentCall()?.workload ?? "(none)" }) }),
        }),
      ),
    ],
  });
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

function client(port: number, tls: MeshTls | undefined, serverWorkload?: string) {
  const c = createClient(CatalogService, `127.0.0.1:${port}`, {
    logger,
    tls,
    serverWorkload,
    maxAttempts: 1,
    breakerThreshold: 1_000_000,
    defaultTimeoutMs: 2_000,
  });
  cleanups.push(() => closeClient(c));
  return c;
}

async function outcome(p: Promise<{ product?: { name: string } }>): Promise<string | Code> {
  try {
    return (await p).product?.name ?? "";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

/** A folder trusting the mesh's CA in which `workload` holds `pair` (a certificate the mesh did not issue to it). */
async function identityFolder(meshDir: string, workload: string, pair: PemPair): Promise<string> {
  const dir = await folder();
  await copyFile(meshFiles(meshDir).ca, meshFiles(dir).ca);
  await writeWorkloadIdentity(dir, workload, pair);
  return dir;
}

async function meshCa(dir: string): Promise<PemPair> {
  const files = meshFiles(dir);
  return { cert: await readFile(files.ca, "utf8"), key: await readFile(files.caKey, "utf8") };
}

describe("mesh certificates", () => {
  it("issues a CA and one certificate per workload naming it, keys readable by the owner only, and re-issues nothing on a second call", async () => {
    const dir = await folder();
    const first = await ensureMeshCertificates({ dir, workloads: ["order", "edge"], dnsNames: (w) => [`shopmesh-${w}`] });
    expect(first).toEqual({ caIssued: true, issued: ["order", "edge"] });
    const files = meshFiles(dir);
    const leafPem = await readFile(files.cert("order"), "utf8");
    const leaf = new X509Certificate(leafPem);
    const ca = new X509Certificate(await readFile(files.ca));
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toContain("URI:spiffe://shopmesh/order");
    expect(leaf.subjectAltName).toContain("DNS:shopmesh-order");
    expect(Date.parse(leaf.validTo) - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
    for (const key of [files.caKey, files.key("order"), files.key("edge")]) expect((await stat(key)).mode & 0o777).toBe(0o600);

    const again = await ensureMeshCertificates({ dir, workloads: ["order", "edge"], dnsNames: (w) => [`shopmesh-${w}`] });
    expect(again).toEqual({ caIssued: false, issued: [] });
    expect(await readFile(files.cert("order"), "utf8")).toBe(leafPem);
  });

  it("re-issues a workload certificate once less than a third of its lifetime is left, under the same CA", async () => {
    const dir = await folder();
    await ensureMeshCertificates({ dir, workloads: ["order"] });
    const at17h = await ensureMeshCertificates({ dir, workloads: ["order"], now: new Date(Date.now() + 15 * 3_600_000) });
    expect(at17h).toEqual({ caIssued: false, issued: [] });
    const at17hLater = await ensureMeshCertificates({ dir, workloads: ["order"], now: new Date(Date.now() + 17 * 3_600_000) });
    expect(at17hLater).toEqual({ caIssued: false, issued: ["order"] });
  });
});

describe("mutual TLS between mesh workloads", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await folder();
    await ensureMeshCertificates({ dir, workloads: ["catalog", "order", "payment"] });
  });
  const tls = (workload: string, d = dir) => createMeshTls({ dir: d, workload, refreshMs: REFRESH_MS });

  it("serves a client of the mesh, and the server knows the caller's workload from its certificate", async () => {
    const server = await serve(tls("catalog"));
    expect(await outcome(client(server.port, tls("order")).getProduct({ id: "p1" }))).toBe("order");
  });

  it("refuses a plaintext client", async () => {
    const server = await serve(tls("catalog"));
    expect(await outcome(client(server.port, undefined).getProduct({ id: "p1" }))).toBe(Code.Unavailable);
  });

  it("refuses a client whose certificate comes from another CA", async () => {
    const server = await serve(tls("catalog"));
    const foreign = await issueWorkloadCertificate({ workload: "order", ca: await issueCertificateAuthority() });
    const other = await identityFolder(dir, "order", foreign);
    expect(await outcome(client(server.port, tls("order", other)).getProduct({ id: "p1" }))).toBe(Code.Unavailable);
  });

  it("refuses a client whose certificate has expired", async () => {
    const server = await serve(tls("catalog"));
    const day = 24 * 3_600_000;
    const expired = await issueWorkloadCertificate({
      workload: "order",
      ca: await meshCa(dir),
      notBefore: new Date(Date.now() - 2 * day),
      notAfter: new Date(Date.now() - day),
    });
    const other = await identityFolder(dir, "order", expired);
    expect(await outcome(client(server.port, tls("order", other)).getProduct({ id: "p1" }))).toBe(Code.Unavailable);
  });

  it("refuses a server that is not the workload the client expects, whatever address it dials", async () => {
    const server = await serve(tls("payment"));
    expect(await outcome(client(server.port, tls("order")).getProduct({ id: "p1" }))).toBe(Code.Unavailable);
    expect(await outcome(client(server.port, tls("order"), "payment").getProduct({ id: "p1" }))).toBe("order");
  });

  it("picks up re-issued files in a running server and a running client without a restart", async () => {
    const rotating = await folder();
    await ensureMeshCertificates({ dir: rotating, workloads: ["catalog", "order", "cart"] });
    const server = await serve(tls("catalog", rotating));
    const running = client(server.port, tls("order", rotating));
    expect(await outcome(running.getProduct({ id: "p1" }))).toBe("order");

    // A new CA and new certificates: nothing issued before the rotation is trusted after it.
    const ca = await issueCertificateAuthority();
    await writeCertificateAuthority(rotating, ca);
    for (const w of ["catalog", "order", "cart"])
      await writeWorkloadIdentity(rotating, w, await issueWorkloadCertificate({ workload: w, ca }));

    // The running server now presents and trusts the new files: a new client of the new CA gets in.
    await waitUntil(async () => (await outcome(client(server.port, tls("cart", rotating)).getProduct({ id: "p1" }))) === "cart", {
      timeoutMs: 20_000,
      intervalMs: REFRESH_MS,
      what: "a client of the new CA to get in",
    });

    // The running client reconnects with its new certificate to a server of the new CA on the same port.
    const port = server.port;
    await server.stop();
    await serve(tls("catalog", rotating), port);
    await waitUntil(async () => (await outcome(running.getProduct({ id: "p2" }))) === "order", {
      timeoutMs: 20_000,
      intervalMs: REFRESH_MS,
      what: "the running client to reconnect with its new certificate",
    });
  });
});
