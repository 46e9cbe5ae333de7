import { expect, it } from "vitest";
import { describeDistributed } from "../distributed-fixture.test-support.js";
import { type MatrixTarget, matrixServices, matrixTokens, runAuthorizationMatrix } from "./authorization-matrix.js";

/**
 * The authorization matrix on a distributed mesh (each service its own process over mutual TLS):
 * every method of every service, on the service's own port, called without TLS, with another
 * CA's certificate, as a workload its policy does not list, as each workload it lists, with a
 * shopper's token through the edge's identity and with an operator's token; each gets what the
 * method's call policy gives it.
 */
describeDistributed("authorization matrix (distributed mode)", (t) => {
  const target = (): MatrixTarget => {
    expect(t.mesh.tlsDir).toBeDefined();
    return { services: t.mesh.services, tlsDir: t.mesh.tlsDir as string };
  };

  it("serves exactly the services the matrix covers", () => {
    expect(Object.keys(t.mesh.services).sort()).toEqual(Object.keys(matrixServices).sort());
  });

  it("gives every caller of every method what its call policy says", async () => {
    const matrix = await runAuthorizationMatrix(target(), await matrixTokens(target(), "distributed"));
    expect(matrix.missingPolicies).toEqual([]);
    expect(matrix.got).toEqual(matrix.expected);
    expect(t.unexpectedExits).toEqual([]);
  }, 60_000);
});
