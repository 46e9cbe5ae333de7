import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import { closeClient, createClient, createMeshTls } from "@shopmesh/platform";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";

/**
 * Mutual TLS as `npm start` runs it: the certificates made on first start under the data folder,
 * the services' own ports closed to plaintext, and the development opt-out.
 */
const embeddedMain = fileURLToPath(new URL("../../../dist/embedded.js", import.meta.url));
const catalogMain = fileURLToPath(new URL("../../../../services/catalog/dist/main.js", import.meta.url));

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

function getProduct(address: string, opts: Parameters<typeof createClient>[2] = {}): Promise<Code | "ok"> {
  const client = createClient(CatalogService, address, { maxAttempts: 1, defaultTimeoutMs: 5_000, ...opts });
  return codeOf(client.getProduct({ id: "p-espresso-cup" })).finally(() => closeClient(client));
}

/** Runs a program with only `env` (and PATH); resolves to its exit code and stderr. */
function run(script: string, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script], { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000 }, (err, _stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
    );
  });
}

describe("npm start with mutual TLS", () => {
  let dataDir: string;
  let mesh: EmbeddedMesh;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "shopmesh-mtls-"));
    // No SHOPMESH_TLS_DIR: the mesh makes its certificates under its data folder, as for a user.
    mesh = await startEmbedded({
      ...process.env,
      SHOPMESH_TLS_DIR: undefined,
      SHOPMESH_DATA_DIR: dataDir,
      EDGE_PORT: "0",
      LOG_LEVEL: "silent",
    });
  });

  afterAll(async () => {
    await mesh?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("creates the CA and a certificate per workload in <data dir>/tls on first start, keys readable by the owner only", async () => {
    const dir = join(dataDir, "tls");
    expect(mesh.tlsDir).toBe(dir);
    const ca = new X509Certificate(await readFile(join(dir, "ca.crt")));
    for (const w of ["auth", "catalog", "cart", "order", "payment", "notification", "edge", "reconcile", "operator-cli"]) {
      const cert = new X509Certificate(await readFile(join(dir, `${w}.crt`)));
      expect(cert.verify(ca.publicKey), w).toBe(true);
      expect(cert.subjectAltName, w).toContain(`URI:spiffe://shopmesh/${w}`);
      expect((await stat(join(dir, `${w}.key`))).mode & 0o777, w).toBe(0o600);
    }
  });

  it("refuses a plaintext client on a service's own port and serves a client with a workload certificate of the mesh", async () => {
    const address = mesh.services.catalog as string;
    expect(await getProduct(address)).toBe(Code.Unavailable);
    expect(await getProduct(address, { tls: createMeshTls({ dir: mesh.tlsDir as string, workload: "edge" }) })).toBe("ok");
  });

  it("serves the storefront's API through the edge's public port as before", async () => {
    const res = await fetch(`${mesh.url}/api/products/p-espresso-cup`);
    expect(res.status).toBe(200);
  });
});

describe("the mutual TLS opt-out", () => {
  it("is refused with a configuration error and exit code 1 when NODE_ENV=production, by npm start and by a service", async () => {
    const production = { NODE_ENV: "production", SHOPMESH_MTLS: "off" };
    const embedded = await run(embeddedMain, { ...production, SHOPMESH_DATA_DIR: "memory" });
    expect(embedded.code).toBe(1);
    expect(embedded.stderr).toContain("SHOPMESH_MTLS");
    const catalog = await run(catalogMain, { ...production, DATABASE_URL: "postgres://u@127.0.0.1:1/x", KAFKA_BROKERS: "127.0.0.1:1" });
    expect(catalog.code).toBe(1);
    expect(catalog.stderr).toContain("SHOPMESH_MTLS");
  });

  it("leaves a service without SHOPMESH_TLS_DIR refused at start with a configuration error naming it", async () => {
    const catalog = await run(catalogMain, { DATABASE_URL: "postgres://u@127.0.0.1:1/x", KAFKA_BROKERS: "127.0.0.1:1" });
    expect(catalog.code).toBe(1);
    expect(catalog.stderr).toContain("SHOPMESH_TLS_DIR");
  });

  it("runs the mesh in plaintext in development, the services' ports open to any client", async () => {
    const mesh = await startEmbedded({
      ...process.env,
      SHOPMESH_MTLS: "off",
      SHOPMESH_DATA_DIR: "memory",
      SHOPMESH_WORKER_THREAD: "none",
      EDGE_PORT: "0",
      LOG_LEVEL: "silent",
    });
    try {
      expect(mesh.tlsDir).toBeUndefined();
      expect(await getProduct(mesh.services.catalog as string)).toBe("ok");
    } finally {
      await mesh.stop();
    }
  });
});
