import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { callPolicyOf, closeClient, createClient, createMeshTls, type MeshTls } from "@shopmesh/platform";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "./embedded-mesh.js";
import { Shopper } from "./shopper.js";

/**
 * The attacks of an outsider on the services' own ports, on an embedded mesh over mutual TLS:
 * each data or money method is refused without an identity (plaintext, or a certificate naming
 * no workload it accepts) and with a shopper's token, and answered past authorization (a domain
 * answer or error) to the caller its policy names.
 */
const attacked: ReadonlyArray<[DescService, DescMethod, string]> = [
  [OrderService, OrderService.method.listAllOrders, "order"],
  [PaymentService, PaymentService.method.refund, "payment"],
  [CatalogService, CatalogService.method.adjustStock, "catalog"],
  [CatalogService, CatalogService.method.reserveStock, "catalog"],
  [CatalogService, CatalogService.method.releaseStock, "catalog"],
  [CartService, CartService.method.getUserCart, "cart"],
  [PaymentService, PaymentService.method.charge, "payment"],
  [PaymentService, PaymentService.method.listPayments, "payment"],
];

type Outcome = "passed" | Code;

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return "passed";
  } catch (err) {
    const code = ConnectError.from(err).code;
    return code === Code.Unauthenticated || code === Code.PermissionDenied || code === Code.Unavailable ? code : "passed";
  }
}

describe("attacks on the services' own ports (embedded mode, mutual TLS)", () => {
  let mesh: EmbeddedMesh;
  let shopper: Shopper;
  const clients: object[] = [];
  const tlsDir = process.env.SHOPMESH_TLS_DIR;

  const call = (service: DescService, method: DescMethod, address: string, tls: MeshTls | undefined, token?: string) => {
    const client = createClient(service, address, { tls, maxAttempts: 1, defaultTimeoutMs: 5_000 });
    clients.push(client);
    const fn = (client as unknown as Record<string, (req: object, o: object) => Promise<unknown>>)[method.localName];
    if (!fn) throw new Error(`no ${method.localName}`);
    return outcome(fn({}, token ? { metadata: { authorization: `Bearer ${token}` } } : {}));
  };

  beforeAll(async () => {
    mesh = await startEmbedded({ ...process.env, EDGE_PORT: "0", LOG_LEVEL: "silent", SHOPMESH_DATA_DIR: "memory" });
    shopper = await Shopper.signup(mesh.url, "zero-trust-shopper@example.com");
  });

  afterAll(async () => {
    for (const c of clients) closeClient(c);
    await mesh?.stop();
  });

  it("refuses each attacked method without identity and with a shopper's token, and serves its caller", async () => {
    // The run's test mesh (the global setup), which the embedded mesh speaks mutual TLS with.
    expect(tlsDir).toBeDefined();
    const dir = tlsDir as string;
    const as = (workload: string) => createMeshTls({ dir, workload });
    const rows: Record<string, Record<string, Outcome>> = {};
    for (const [service, method, name] of attacked) {
      const address = mesh.services[name] as string;
      const policy = callPolicyOf(method);
      const caller = policy?.workloads[0] ?? "reconcile";
      rows[method.name] = {
        plaintext: await call(service, method, address, undefined),
        shopperTokenPlaintext: await call(service, method, address, undefined, shopper.token),
        // Through the edge's identity, with a shopper's token: still not theirs to call.
        shopperTokenAsEdge: await call(service, method, address, as("edge"), shopper.token),
        notification: await call(service, method, address, as("notification")),
        caller: await call(service, method, address, as(caller)),
      };
    }
    const expected = Object.fromEntries(
      attacked.map(([, method]) => [
        method.name,
        {
          plaintext: Code.Unavailable,
          shopperTokenPlaintext: Code.Unavailable,
          shopperTokenAsEdge: Code.PermissionDenied,
          notification: Code.PermissionDenied,
          caller: "passed",
        },
      ]),
    );
    expect(rows).toEqual(expected);
  });
});
