import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedAddressesFile, writeEmbeddedAddresses } from "../embedded-addresses.js";
import { type EmbeddedMesh, startEmbedded } from "../embedded-mesh.js";
import { rest, Shopper } from "../shopper.js";

const operatorScript = fileURLToPath(new URL("../../dist/tools/operator-main.js", import.meta.url));

/** Runs `npm run operator`'s program with `args`; resolves to its exit code and output. */
function runOperator(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [operatorScript, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("npm run operator against an embedded mesh", () => {
  let mesh: EmbeddedMesh;
  let dataDir: string;

  beforeAll(async () => {
    mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
    // The addresses file `npm start` writes in its data folder, by which the command finds the mesh.
    dataDir = mkdtempSync(join(tmpdir(), "shopmesh-operator-"));
    // With the folder of the mesh's certificates, as `npm start` writes it (the run's test mesh here).
    const tls = process.env.SHOPMESH_TLS_DIR;
    writeEmbeddedAddresses(embeddedAddressesFile(dataDir), {
      pid: process.pid,
      edge: mesh.url,
      services: mesh.services,
      ...(tls ? { tls } : {}),
    });
  });

  afterAll(async () => {
    await mesh?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const login = async (email: string, password: string) => {
    const res = await rest<{ access_token: string; user: { operator?: boolean } }>(mesh.url, "POST", "/api/auth/login", {
      body: { email, password },
    });
    expect(res.status).toBe(200);
    return res.body;
  };

  it("creates the operator account, then changes nothing when run again; its tokens carry the operator role", async () => {
    const args = ["create", "--email", "ops@example.com", "--password", "a long passphrase"];
    const first = await runOperator(args, { SHOPMESH_DATA_DIR: dataDir });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/account created/);
    const again = await runOperator(args, { SHOPMESH_DATA_DIR: dataDir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/existing account/);

    const session = await login("ops@example.com", "a long passphrase");
    expect(session.user.operator).toBe(true);
    expect(decodeJwt(session.access_token).roles).toEqual(["operator"]);
    const me = await rest<{ operator?: boolean }>(mesh.url, "GET", "/api/auth/me", { token: session.access_token });
    expect(me.body.operator).toBe(true);
  });

  it("promotes an existing shopper given their password (AUTH_ADDR), and refuses a wrong one", async () => {
    const shopper = await Shopper.signup(mesh.url, "shopper-to-ops@example.com", "shopper passphrase");
    expect(decodeJwt(shopper.token).roles).toBeUndefined();
    const env = {
      AUTH_ADDR: mesh.services.auth ?? "",
      ...(process.env.SHOPMESH_TLS_DIR ? { SHOPMESH_TLS_DIR: process.env.SHOPMESH_TLS_DIR } : {}),
    };
    const wrong = await runOperator(["create", "--email", shopper.email, "--password", "not the passphrase"], env);
    expect(wrong.code).toBe(1);
    const promoted = await runOperator(["create", "--email", shopper.email, "--password", "shopper passphrase"], env);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toMatch(/existing account/);
    expect((await login(shopper.email, "shopper passphrase")).user.operator).toBe(true);
  });

  it("names the missing option, and the way to find the mesh", async () => {
    const missing = await runOperator(["create", "--email", "x@example.com"], { SHOPMESH_DATA_DIR: dataDir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--password/);
    const nowhere = await runOperator(["create", "--email", "x@example.com", "--password", "long enough"], {
      SHOPMESH_DATA_DIR: join(dataDir, "nothing-here"),
    });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/AUTH_ADDR/);
  });
});
