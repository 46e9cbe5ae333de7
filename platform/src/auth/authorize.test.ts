import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { Health } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { ServerReflection } from "@shopmesh/proto/grpc/reflection/v1/reflection_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CallOptions, type Client, closeClient, createClient } from "../grpc/client.js";
import { createGrpcServer, type GrpcServer } from "../grpc/server.js";
import { serviceRegistration } from "../grpc/service.js";
import { createLogger } from "../logger.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { metricValue, parseMetrics } from "../testing/metrics-text.js";
import { createTestTokenIssuer } from "../testing/test-tokens.js";
import { processMetricsText } from "../telemetry/metrics.js";
import { authorize, callPolicyOf, isAllowed } from "./authorize.js";

/**
 * The call policies as a served catalog enforces them: a real gRPC server over mutual TLS with
 * the authorize interceptor and the catalog contract (handlers answer UNIMPLEMENTED or an empty
 * stream: anything but a denial counts as "passed authorization"), called by real clients with
 * certificates of a test CA made by openssl, and real access tokens.
 */

/** A CA and the certificates it issues, in a temporary folder. */
class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), "shopmesh-authz-"));
  readonly cert: Buffer;
  readonly #key: string;
  #n = 0;

  constructor(readonly name: string) {
    this.#key = join(this.dir, "ca.key");
    const crt = join(this.dir, "ca.crt");
    openssl(["req", "-x509", ...ecKey(this.#key), "-out", crt, "-subj", `/CN=${name}`, "-days", "1"]);
    this.cert = readFileSync(crt);
  }

  /** A key and certificate with the given subjectAltName entries (e.g. "URI:spiffe://shopmesh/order"). */
  issue(cn: string, sans: readonly string[]): { key: Buffer; cert: Buffer } {
    const base = join(this.dir, `leaf-${this.#n++}`);
    openssl(["req", ...ecKey(`${base}.key`), "-out", `${base}.csr`, "-subj", `/CN=${cn}`]);
    writeFileSync(`${base}.ext`, `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    openssl([
      "x509",
      "-req",
      "-in",
      `${base}.csr`,
      "-CA",
      join(this.dir, "ca.crt"),
      "-CAkey",
      this.#key,
      "-set_serial",
      String(1000 + this.#n),
      "-days",
      "1",
      "-extfile",
      `${base}.ext`,
      "-out",
      `${base}.crt`,
    ]);
    return { key: readFileSync(`${base}.key`), cert: readFileSync(`${base}.crt`) };
  }

  workload(name: string) {
    return this.issue(name, [`URI:spiffe://shopmesh/${name}`, "DNS:localhost", "IP:127.0.0.1"]);
  }

  remove() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function ecKey(keyFile: string): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile];
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
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
  let mesh: TestCa;
  let foreign: TestCa;
  let server: GrpcServer;
  const clients: Client<typeof CatalogService>[] = [];
  let issuer: Awaited<ReturnType<typeof createTestTokenIssuer>>;

  const client = (credentials: grpc.ChannelCredentials) => {
    const c = createClient(CatalogService, `127.0.0.1:${server.port}`, {
      credentials,
      maxAttempts: 1,
      defaultTimeoutMs: 5_000,
      channelOptions: { "grpc.ssl_target_name_override": "localhost" },
    });
    clients.push(c);
    return c;
  };
  const asWorkload = (name: string, ca = mesh) => {
    const { key, cert } = ca.workload(name);
    return client(grpc.credentials.createSsl(mesh.cert, key, cert));
  };

  beforeAll(async () => {
    mesh = new TestCa("mesh");
    foreign = new TestCa("foreign");
    issuer = await createTestTokenIssuer();
    const { key, cert } = mesh.workload("catalog");
    server = createGrpcServer({
      name: "catalog",
      host: "127.0.0.1",
      port: 0,
      logger,
      services: [serviceRegistration(CatalogService, catalogHandlers())],
      interceptors: [authorize({ service: "catalog", verifier: issuer.verifier })],
      credentials: grpc.ServerCredentials.createSsl(mesh.cert, [{ private_key: key, cert_chain: cert }], true),
    });
    await server.start();
  });

  afterAll(async () => {
    for (const c of clients) closeClient(c);
    await server?.stop();
    mesh?.remove();
    foreign?.remove();
  });

  it("gives every method the expected answer for each kind of caller", async () => {
    const callers = {
      plaintext: { client: client(grpc.credentials.createInsecure()), options: {} },
      foreignCa: { client: asWorkload("order", foreign), options: {} },
      noWorkload: {
        client: client(grpc.credentials.createSsl(mesh.cert, ...keyCert(mesh.issue("somebody", ["DNS:localhost"])))),
        options: {},
      },
      wrongWorkload: { client: asWorkload("notification"), options: {} },
      user: { client: asWorkload("notification"), options: await issuer.as("user-1") },
      operator: { client: asWorkload("operator-cli"), options: await issuer.asOperator() },
      reconcile: { client: asWorkload("reconcile"), options: {} },
    };
    const rows: string[] = [];
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
      rows.push(method.name);
    }
    expect(rows).toHaveLength(CatalogService.methods.length);
  });

  it("refuses a user's token on an operator method, and answers health to anyone with a certificate", async () => {
    const edge = asWorkload("edge");
    expect(await callMethod(edge, CatalogService.method.adjustStock, await issuer.as("user-1"))).toBe(Code.PermissionDenied);
    expect(await callMethod(edge, CatalogService.method.adjustStock, await issuer.asOperator())).toBe("passed");
    const { key, cert } = mesh.issue("probe", ["DNS:localhost"]);
    const health = createClient(Health, `127.0.0.1:${server.port}`, {
      credentials: grpc.credentials.createSsl(mesh.cert, key, cert),
      channelOptions: { "grpc.ssl_target_name_override": "localhost" },
    });
    const reflection = createClient(ServerReflection, `127.0.0.1:${server.port}`, {
      credentials: grpc.credentials.createSsl(mesh.cert, key, cert),
      channelOptions: { "grpc.ssl_target_name_override": "localhost" },
    });
    try {
      expect((await health.check({ service: "" })).status).toBe(1);
      const answer = async () => {
        try {
          for await (const _ of reflection.serverReflectionInfo(
            (async function* () {
              yield { messageRequest: { case: "listServices", value: "" } };
            })(),
          ))
            break;
          return "passed";
        } catch (err) {
          return ConnectError.from(err).code;
        }
      };
      expect(await answer()).toBe(Code.Unauthenticated);
    } finally {
      closeClient(health);
      closeClient(reflection);
    }
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

function keyCert(pair: { key: Buffer; cert: Buffer }): [Buffer, Buffer] {
  return [pair.key, pair.cert];
}
