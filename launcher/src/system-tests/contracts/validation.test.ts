import { Code, ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { closeClient, createClient } from "@shopmesh/platform";
import { BadRequestSchema } from "@shopmesh/proto/google/rpc/error_details_pb.js";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { rest, Shopper } from "../../shopper.js";
import { testMeshTls } from "@shopmesh/platform/testing";

/**
 * A request with several bad fields is refused once, naming each of them: INVALID_ARGUMENT with
 * a google.rpc.BadRequest field violation per field, in every protocol the mesh speaks.
 */

let mesh: EmbeddedMesh;

beforeAll(async () => {
  mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
});
afterAll(() => mesh?.stop());

const badSignup = { email: "not-an-email", password: "short", name: "Ada" };

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(err)}`);
  return err;
}

function expectEmailAndPassword(err: ConnectError): void {
  expect(err.code).toBe(Code.InvalidArgument);
  const [badRequest, ...more] = err.findDetails(BadRequestSchema);
  expect(more).toEqual([]);
  expect(badRequest?.fieldViolations.map((v) => v.field)).toEqual(["email", "password"]);
  for (const v of badRequest?.fieldViolations ?? []) expect(v.description, v.field).not.toBe("");
}

describe("field violations", () => {
  it("REST: 400 with one field_violation per bad field, next to code and message", async () => {
    const res = await rest(mesh.url, "POST", "/api/auth/signup", { body: badSignup });
    expect(res.status).toBe(400);
    const described = expect.stringMatching(/./);
    expect(res.body).toEqual({
      code: "invalid_argument",
      message: described,
      field_violations: [
        { field: "email", description: described },
        { field: "password", description: described },
      ],
    });
  });

  it("Connect and gRPC-Web through the edge: BadRequest error details", async () => {
    for (const transport of [
      createConnectTransport({ baseUrl: mesh.url, httpVersion: "1.1" }),
      createGrpcWebTransport({ baseUrl: mesh.url, httpVersion: "1.1" }),
    ]) {
      expectEmailAndPassword(await refusal(createConnectClient(AuthService, transport).signup(badSignup)));
    }
  });

  it("gRPC through the edge and straight to the auth service: the grpc-status-details-bin trailer", async () => {
    for (const address of [`127.0.0.1:${mesh.edgePort}`, mesh.services.auth as string]) {
      // The edge's public port is plaintext; the service's own port speaks mutual TLS.
      const auth = createClient(AuthService, address, { tls: address === mesh.services.auth ? testMeshTls("edge") : undefined });
      try {
        expectEmailAndPassword(await refusal(auth.signup(badSignup)));
      } finally {
        closeClient(auth);
      }
    }
  });

  it("names every bad field of a cart item and a login, and correct requests still work afterwards", async () => {
    const shopper = await Shopper.signup(mesh.url, "violations@example.com");
    const item = await rest(mesh.url, "POST", "/api/cart/items", { token: shopper.token, body: { product_id: "", qty: 0 } });
    expect(item.status).toBe(400);
    expect(item.body.field_violations.map((v: { field: string }) => v.field)).toEqual(["product_id", "qty"]);
    const login = await rest(mesh.url, "POST", "/api/auth/login", { body: { email: "", password: "" } });
    expect(login.status).toBe(400);
    expect(login.body.field_violations.map((v: { field: string }) => v.field)).toEqual(["email", "password"]);
    const ok = await rest(mesh.url, "POST", "/api/auth/login", {
      body: { email: shopper.email, password: "correct horse battery staple" },
    });
    expect(ok.status).toBe(200);
  });
});
