import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { type MatrixTarget, matrixServices, matrixTokens, runAuthorizationMatrix } from "./authorization-matrix.js";

/**
 * The authorization matrix on an embedded mesh over mutual TLS: every method of every service,
 * on the service's own port, called without TLS, with another CA's certificate, as a workload
 * its policy does not list, as each workload it lists, with a shopper's token through the edge's
 * identity and with an operator's token; each gets what the method's call policy gives it.
 */
describe("authorization matrix (embedded mode)", () => {
  let mesh: EmbeddedMesh;
  let target: MatrixTarget;

  beforeAll(async () => {
    mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
    expect(mesh.tlsDir).toBeDefined();
    target = { services: mesh.services, tlsDir: mesh.tlsDir as string };
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  it("serves exactly the services the matrix covers", () => {
    expect(Object.keys(mesh.services).sort()).toEqual(Object.keys(matrixServices).sort());
  });

  it("gives every caller of every method what its call policy says", async () => {
    const matrix = await runAuthorizationMatrix(target, await matrixTokens(target, "embedded"));
    expect(matrix.missingPolicies).toEqual([]);
    expect(matrix.got).toEqual(matrix.expected);
  });
});
