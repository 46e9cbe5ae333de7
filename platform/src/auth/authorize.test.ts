import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { ServerReflection } from "@shopmesh/proto/grpc/reflection/v1/reflection_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CallOptions, type Client, closeClient, createClient } from "../grpc/client.js";
import { createGrpcServer, type GrpcServer } from "../grpc/server.js";
import { type ServiceHandlers, serviceRegistration } from "../grpc/service.js";
import { createLogger } from "../logger.js";
import { processMetricsText } from "../telemetry/metrics.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { metricValue, parseMetrics } from "../testing/metrics-text.js";
import { createTestTokenIssuer } from "../testing/test-tokens.js";
import { createMeshTls, type MeshTls } from "../tls/credentials.js";
import { ensureMeshCertificates, meshFiles } from "../tls/issue.js";
import { authorize, callPolicyOf, isAllowed } from "./authorize.js";

/**
 * The call policies as a served catalog enforces them: a real gRPC server over mutual TLS with
 * the authorize interceptor and the catalog contract (handlers answer UNIMPLEMENTED or an empty
 * stream: anything but a denial counts as "passed authorization"), called by real clients with
 * workload certificates of a mesh of the test's own, of another mesh, or of no workload, and
 * real access tokens.
 */

/**
 * A folder holding the mesh CA of `meshDir` and a certificate it signed that names no workload
 * (a DNS name only), as the files of workload `name`: what a mesh client presents, without an identity.
 */
function anonymousIdentity(meshDir: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), "shopmesh-authz-anon-"));
  const mesh = meshFiles(meshDir);
  const files = meshFiles(dir);
  copyFileSync(mesh.ca, files.ca);
  const csr = join(dir, "leaf.csr");
  const ext = join(dir, "leaf.ext");
  writeFileSync(ext, "subjectAltName=DNS:localhost\nextendedKeyUsage=clientAuth\n");
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  run([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    files.key(name),
    "-out",
    csr,
    "-subj",
    `/CN=${name}`,
  ]);
  run([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    mesh.ca,
    "-CAkey",
    mesh.caKey,
    "-set_serial",
    "4242",
    "-days",
    "1",
    "-extfile",
    ext,
    "-out",
    files.cert(name),
  ]);
  return dir;
}

type Outcome = "passed" | Code;

/** One call of `method` with an empty request: "passed" unless it was refused (by the transport or a policy). */
async function callMethod(client: Client<typeof CatalogService>, method: DescMethod, options: CallOptions): Promise<Outcome> {
  const call = (client as unknown as Record<string, (req: unknown, o: CallOptions) => unknown>)[method.localName];
  if (!call) throw new Error(`no client method for ${method.name}`);
  try {
    const out =
      method.methodKind === "bidi_streaming" || method.methodKind === "client_streaming" ? call(emptyStream(), options) : call({}, options);
    if (out && typeof (out as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
      for await (const _ of out as AsyncIterable<unknown>) break;
    } else await out;
    return "passed";
  } catch (err) {
    const code = ConnectError.from(err).code;
    return code === Code.Unauthenticated || code === Code.PermissionDenied || code === Code.Unavailable ? code : "passed";
  }
}

async function* emptyStream(): AsyncIterable<never> {}

describe("authorize: the call policies of a service over mutual TLS", () => {
  const logger = createLogger({ level: "silent" });
  const folders: string[] = [];
  let meshDir: string;
  let foreignDir: string;
  let anonymousDir: string;
  let server: GrpcServer;
  const clients: object[] = [];
  let issuer: Awaited<ReturnType<typeof createTestTokenIssuer>>;

  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), "shopmesh-authz-"));
    folders.push(dir);
    return dir;
  };
  const client = (tls: MeshTls | undefined) => {
    const c = createClient(CatalogService, `127.0.0.1:${server.port}`, { tls, maxAttempts: 1, defaultTimeoutMs: 5_000 });
    clients.push(c);
    return c;
  };
  const asWorkload = (workload: string, dir = meshDir) => client(createMeshTls({ dir, workload }));

  beforeAll(async () => {
    meshDir = folder();
    foreignDir = folder();
    await ensureMeshCertificates({ dir: meshDir });
    await ensureMeshCertificates({ dir: foreignDir });
    anonymousDir = anonymousIdentity(meshDir, "somebody");
    folders.push(anonymousDir);
    issuer = await createTestTokenIssuer();
    server = createGrpcServer({
      name: "catalog",
      host: "127.0.0.1",
      port: 0,
      logger,
      services: [serviceRegistration(CatalogService, catalogHandlers())],
      interceptors: [authorize({ service: "catalog", verifier: issuer.verifier })],
      tls: createMeshTls({ dir: meshDir, workload: "catalog" }),
    });
    await server.start();
  });

  afterAll(async () => {
    for (const c of clients) closeClient(c);
    await server?.stop();
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it("gives every method the expected answer for each kind of caller", async () => {
    const callers = {
      plaintext: { client: client(undefined), options: {} },
      foreignCa: { client: asWorkload("order", foreignDir), options: {} },
      noWorkload: { client: asWorkload("somebody", anonymousDir), options: {} },
      wrongWorkload: { client: asWorkload("notification"), options: {} },
      user: { client: asWorkload("notification"), options: await issuer.as("user-1") },
      operator: { client: asWorkload("operator-cli"), options: await issuer.asOperator() },
      reconcile: { client: asWorkload("reconcile"), options: {} },
    };
    for (const method of CatalogService.methods) {
      const p = callPolicyOf(method);
      expect(p, `${method.name} has a call policy`).toBeDefined();
      const right = p?.workloads[0];
      const expected: Record<string, Outcome> = {
        plaintext: Code.Unavailable,
        foreignCa: Code.Unavailable,
        noWorkload: Code.Unauthenticated,
        wrongWorkload: Code.PermissionDenied,
        user: Code.PermissionDenied,
        operator: p?.operator ? "passed" : Code.PermissionDenied,
        reconcile: p?.operator ? "passed" : Code.PermissionDenied,
      };
      const got: Record<string, Outcome> = {};
      for (const [name, c] of Object.entries(callers)) got[name] = await callMethod(c.client, method, c.options);
      if (right !== undefined) {
        expected.right = "passed";
        got.right = await callMethod(asWorkload(right), method, {});
      }
      expect(got, method.name).toEqual(expected);
    }
  });

  it("refuses a user's token on an operator method; answers health to any certificate, reflection to a workload", async () => {
    const edge = asWorkload("edge");
    expect(await callMethod(edge, CatalogService.method.adjustStock, await issuer.as("user-1"))).toBe(Code.PermissionDenied);
    expect(await callMethod(edge, CatalogService.method.adjustStock, await issuer.asOperator())).toBe("passed");
    const address = `127.0.0.1:${server.port}`;
    const anonymous = createMeshTls({ dir: anonymousDir, workload: "somebody" });
    const health = createClient(Health, address, { tls: anonymous, serverWorkload: "catalog" });
    const reflect = (tls: MeshTls) => createClient(ServerReflection, address, { tls, serverWorkload: "catalog" });
    const listServices = async (c: Client<typeof ServerReflection>) => {
      try {
        for await (const _ of c.serverReflectionInfo(
          (async function* () {
            yield { messageRequest: { case: "listServices" as const, value: "" } };
          })(),
        ))
          break;
        return "passed";
      } catch (err) {
        return ConnectError.from(err).code;
      }
    };
    const anonymousReflection = reflect(anonymous);
    const orderReflection = reflect(createMeshTls({ dir: meshDir, workload: "order" }));
    clients.push(health, anonymousReflection, orderReflection);
    expect((await health.check({ service: "" })).status).toBe(1);
    expect(await listServices(anonymousReflection)).toBe(Code.Unauthenticated);
    expect(await listServices(orderReflection)).toBe("passed");
  });

  it("lets nobody call a method without a policy (default deny)", () => {
    expect(isAllowed(undefined, { workload: "edge", principal: { userId: "o", operator: true } })).toBe(false);
    expect(isAllowed(undefined, { workload: "reconcile", principal: undefined })).toBe(false);
  });

  it("counts each denial by method, code and calling workload", async () => {
    const read = async () =>
      metricValue(parseMetrics(await processMetricsText()), "shopmesh_rpc_server_denied_total", {
        service: "catalog",
        method: "shop.catalog.v1.CatalogService/AdjustStock",
        code: "permission_denied",
        caller: "cart",
      });
    const before = await read();
    expect(await callMethod(asWorkload("cart"), CatalogService.method.adjustStock, {})).toBe(Code.PermissionDenied);
    expect(await read()).toBe(before + 1);
  });
});

describe("authorize without mutual TLS: an ACCESS_OPERATOR method still needs an operator's token", () => {
  let server: GrpcServer;
  let orders: Client<typeof OrderService>;
  let issuer: Awaited<ReturnType<typeof createTestTokenIssuer>>;

  beforeAll(async () => {
    issuer = await createTestTokenIssuer();
    // Every method answers an empty message: only authorization is under test.
    const handlers = Object.fromEntries(OrderService.methods.map((m) => [m.localName, async () => ({})])) as unknown as ServiceHandlers<
      typeof OrderService
    >;
    server = createGrpcServer({
      name: "order",
      host: "127.0.0.1",
      port: 0,
      logger: createLogger({ level: "silent" }),
      services: [serviceRegistration(OrderService, handlers)],
      interceptors: [authorize({ service: "order", verifier: issuer.verifier })],
    });
    await server.start();
    orders = createClient(OrderService, `127.0.0.1:${server.port}`, { maxAttempts: 1 });
  });

  afterAll(async () => {
    closeClient(orders);
    await server?.stop();
  });

  it("answers UNAUTHENTICATED without a token, PERMISSION_DENIED to a shopper's, and lets an operator's through", async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "passed",
        (e: unknown) => ConnectError.from(e).code,
      );
    expect(await code(orders.refundOrder({}))).toBe(Code.Unauthenticated);
    expect(await code(orders.refundOrder({}, await issuer.as("shopper-1")))).toBe(Code.PermissionDenied);
    expect(await code(orders.refundOrder({}, await issuer.asOperator()))).toBe("passed");
    expect(await code(orders.getAnyOrder({}, await issuer.asOperator()))).toBe("passed");
  });
});
