import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type CallOptions,
  callPolicyOf,
  closeClient,
  createClient,
  createMeshTls,
  ensureMeshCertificates,
  type MeshTls,
  meshWorkloads,
  RECONCILE_WORKLOAD,
  requiresUser,
} from "@shopmesh/platform";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";

/**
 * The authorization matrix of a running mesh: every method of every service, called on that
 * service's own port by each kind of caller, with the outcome its call policy
 * (`(shop.api.v1.policy)`, read from the descriptors) gives that caller. Requests are empty: an
 * answer or a domain error (a violated field, an unknown id, a missing user token on a user
 * method called without one) shows the call passed authorization.
 */

/** The services of the mesh, by the name their addresses go by ("auth", "catalog", …). */
export const matrixServices: Readonly<Record<string, DescService>> = {
  auth: AuthService,
  catalog: CatalogService,
  cart: CartService,
  order: OrderService,
  payment: PaymentService,
  notification: NotificationService,
};

/** Who calls. */
export type Caller =
  /** No TLS at all. */
  | "plaintext"
  /** A workload certificate of another mesh's CA (naming a workload the policy lists). */
  | "foreignCa"
  /** A mesh workload the policy does not list (never `reconcile`). */
  | "wrongWorkload"
  /** A shopper's access token, over the edge's certificate, as the edge forwards it. */
  | "userToken"
  /** An operator's access token, over the operator command's certificate. */
  | "operatorToken"
  /** Each workload the policy lists, and `reconcile` for an operator method. */
  | `right:${string}`;

/** "passed" authorization (an answer or a domain error), or the code of the refusal. */
export type Outcome = "passed" | Code;

export interface MatrixTarget {
  /** The loopback gRPC address of each service, by name. */
  readonly services: Readonly<Record<string, string>>;
  /** The folder of the mesh's certificates. */
  readonly tlsDir: string;
}

export interface Matrix {
  /** Methods without a call policy (nobody can call them; each is a failure). */
  readonly missingPolicies: string[];
  /** "Service/Method" → caller → outcome, as called. */
  readonly got: Record<string, Record<string, Outcome>>;
  /** The same, as the call policies say. */
  readonly expected: Record<string, Record<string, Outcome>>;
}

/** Budget of a unary call: generous, a refusal comes at once. */
const UNARY_TIMEOUT_MS = 20_000;
/** How long a stream is given to send its first message or end; then it is cancelled. */
const STREAM_TIMEOUT_MS = 5_000;

const methodName = (m: DescMethod) => `${m.parent.name}/${m.name}`;

/** The callers of `method` and, from its call policy, what each must get. */
function expectations(method: DescMethod): Map<Caller, { workload: string | undefined; outcome: Outcome }> {
  const p = callPolicyOf(method);
  const listed = p?.workloads ?? [];
  const operator = p?.operator === true;
  const denied = Code.PermissionDenied;
  const out = new Map<Caller, { workload: string | undefined; outcome: Outcome }>();
  const rights = [...new Set([...listed, ...(operator ? [RECONCILE_WORKLOAD] : [])])];
  // Without a policy nobody may call: the operator tool's own identity stands in for "right".
  const right = rights[0] ?? RECONCILE_WORKLOAD;
  out.set("plaintext", { workload: undefined, outcome: Code.Unavailable });
  out.set("foreignCa", { workload: right, outcome: Code.Unavailable });
  const wrong = meshWorkloads.find((w) => !listed.includes(w) && w !== RECONCILE_WORKLOAD);
  if (wrong !== undefined) out.set("wrongWorkload", { workload: wrong, outcome: denied });
  for (const w of rights.length > 0 ? rights : [right]) out.set(`right:${w}`, { workload: w, outcome: p ? "passed" : denied });
  out.set("userToken", { workload: "edge", outcome: p && listed.includes("edge") ? "passed" : denied });
  out.set("operatorToken", {
    workload: "operator-cli",
    outcome: p && (operator || listed.includes("operator-cli")) ? "passed" : denied,
  });
  return out;
}

async function* noRequests(): AsyncIterable<never> {}

/**
 * Calls `method` once with an empty request; a stream is read up to its first message (or its
 * end) and then cancelled.
 */
async function callOnce(client: object, method: DescMethod, token: string | undefined): Promise<Outcome> {
  const fn = (client as Record<string, (req: unknown, o: CallOptions) => unknown>)[method.localName];
  if (!fn) throw new Error(`no client method for ${methodName(method)}`);
  const metadata = token ? { authorization: `Bearer ${token}` } : undefined;
  const streaming = method.methodKind !== "unary";
  const abort = new AbortController();
  const options: CallOptions = {
    ...(metadata ? { metadata } : {}),
    signal: abort.signal,
    timeoutMs: streaming ? STREAM_TIMEOUT_MS : UNARY_TIMEOUT_MS,
  };
  const clientStreams = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
  try {
    const out = fn.call(client, clientStreams ? noRequests() : {}, options);
    if (method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming") {
      for await (const _ of out as AsyncIterable<unknown>) break;
    } else await out;
    return "passed";
  } catch (err) {
    const code = ConnectError.from(err).code;
    // A user method called without a token is refused by the user rule, after the policy let it through.
    if (code === Code.Unauthenticated && token === undefined && requiresUser(method)) return "passed";
    // A stream that sent nothing before its deadline was let in: a refusal ends it at once.
    if (streaming && code === Code.DeadlineExceeded) return "passed";
    if (code === Code.Unauthenticated || code === Code.PermissionDenied || code === Code.Unavailable) return code;
    // Any other code is the service's own answer to the (empty) request.
    return code === Code.DeadlineExceeded || code === Code.Canceled || code === Code.Unknown || code === Code.Internal ? code : "passed";
  } finally {
    abort.abort();
  }
}

export interface MatrixTokens {
  /** A shopper's access token. */
  readonly user: string;
  /** An operator's access token. */
  readonly operator: string;
}

/**
 * A shopper and an operator of the mesh: the shopper signs up; the operator signs up, is promoted
 * through auth's CreateOperator by the operator command's identity, and logs in again (its new
 * token carries the role). Through auth's own port, as the workloads its policies name.
 */
export async function matrixTokens(target: MatrixTarget, tag: string): Promise<MatrixTokens> {
  const address = target.services.auth;
  if (!address) throw new Error("the mesh has no auth service");
  const asEdge = createClient(AuthService, address, { tls: createMeshTls({ dir: target.tlsDir, workload: "edge" }), maxAttempts: 1 });
  const asCli = createClient(AuthService, address, {
    tls: createMeshTls({ dir: target.tlsDir, workload: "operator-cli" }),
    maxAttempts: 1,
  });
  try {
    const password = "correct horse battery staple";
    const user = await asEdge.signup({ email: `matrix-shopper-${tag}@example.com`, password, name: "Shopper" });
    const email = `matrix-operator-${tag}@example.com`;
    await asEdge.signup({ email, password, name: "Operator" });
    const promoted = await asCli.createOperator({ email, password, name: "" });
    if (promoted.user?.operator !== true) throw new Error("CreateOperator did not make an operator");
    const operator = await asEdge.login({ email, password });
    return { user: user.accessToken, operator: operator.accessToken };
  } finally {
    closeClient(asEdge);
    closeClient(asCli);
  }
}

/**
 * Calls every method of every service on its own port as every caller, the calls of one service
 * in parallel, and returns what each got beside what its policy gives it.
 */
export async function runAuthorizationMatrix(target: MatrixTarget, tokens: MatrixTokens): Promise<Matrix> {
  const foreignDir = mkdtempSync(join(tmpdir(), "shopmesh-matrix-foreign-"));
  const clients = new Map<string, object>();
  try {
    await ensureMeshCertificates({ dir: foreignDir });
    const tlsFor = (caller: Caller, workload: string | undefined): MeshTls | undefined =>
      workload === undefined ? undefined : createMeshTls({ dir: caller === "foreignCa" ? foreignDir : target.tlsDir, workload });
    const clientFor = (name: string, service: DescService, caller: Caller, workload: string | undefined, address: string) => {
      const key = `${name}|${caller === "foreignCa" ? "foreign" : "mesh"}|${workload ?? "plaintext"}`;
      let c = clients.get(key);
      if (!c) {
        // One attempt: a refused call is not tried again.
        c = createClient(service, address, { tls: tlsFor(caller, workload), maxAttempts: 1 });
        clients.set(key, c);
      }
      return c;
    };
    const tokenOf = (caller: Caller) => (caller === "userToken" ? tokens.user : caller === "operatorToken" ? tokens.operator : undefined);

    const missingPolicies: string[] = [];
    const got: Record<string, Record<string, Outcome>> = {};
    const expected: Record<string, Record<string, Outcome>> = {};
    for (const [name, service] of Object.entries(matrixServices)) {
      const address = target.services[name];
      if (!address) throw new Error(`the mesh has no ${name} service`);
      const calls: Array<Promise<void>> = [];
      for (const method of service.methods) {
        const row = methodName(method);
        if (callPolicyOf(method) === undefined) missingPolicies.push(row);
        got[row] = {};
        expected[row] = {};
        for (const [caller, { workload, outcome }] of expectations(method)) {
          (expected[row] as Record<string, Outcome>)[caller] = outcome;
          const client = clientFor(name, service, caller, workload, address);
          calls.push(
            callOnce(client, method, tokenOf(caller)).then((o) => {
              (got[row] as Record<string, Outcome>)[caller] = o;
            }),
          );
        }
      }
      await Promise.all(calls);
    }
    return { missingPolicies, got, expected };
  } finally {
    for (const c of clients.values()) closeClient(c);
    rmSync(foreignDir, { recursive: true, force: true });
  }
}
