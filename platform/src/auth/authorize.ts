import { type DescMethod, getOption, hasOption } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type CallPolicy, policy } from "@shopmesh/proto/shop/api/v1/annotations_pb.js";
import { unauthenticated } from "../errors.js";
import type { CallContext, Principal } from "../grpc/context.js";
import type { ServerInterceptor } from "../grpc/interceptors.js";
import { createCounter } from "../telemetry/metrics.js";
import { bearerToken, requiresOperator, requiresUser } from "./require-user.js";
import type { TokenVerifier } from "./token-verifier.js";

/** The workload identity of the reconciliation tool: it may call every operator method. */
export const RECONCILE_WORKLOAD = "reconcile";

/** Services whose methods carry no policy of ours and are answered to any caller (probes). */
const openServices = new Set(["grpc.health.v1.Health"]);
/** Services any authenticated caller may use: a verified workload or an operator. */
const meshServices = new Set(["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

export const callsDenied = createCounter({
  name: "shopmesh_rpc_server_denied_total",
  help: "Calls refused by the method's call policy, by method, code (unauthenticated, permission_denied) and the calling workload (none without a certificate)",
  labelNames: ["service", "method", "code", "caller"],
});

const policyCache = new WeakMap<DescMethod, CallPolicy | null>();

/** The method's `(shop.api.v1.policy)`, or undefined when it has none (nobody may call it). */
export function callPolicyOf(method: DescMethod): CallPolicy | undefined {
  let p = policyCache.get(method);
  if (p === undefined) {
    p = hasOption(method, policy) ? getOption(method, policy) : null;
    policyCache.set(method, p);
  }
  return p ?? undefined;
}

/** Who a call comes from, as far as it was verified. */
export interface Caller {
  /** The workload of the caller's mesh certificate. */
  readonly workload: string | undefined;
  /** The principal of the caller's access token. */
  readonly principal: Principal | undefined;
}

/** Whether `caller` may call a method of `policy` (undefined: no policy, nobody may). */
export function isAllowed(policy: CallPolicy | undefined, caller: Caller): boolean {
  if (!policy) return false;
  const { workload, principal } = caller;
  if (workload !== undefined && policy.workloads.includes(workload)) return true;
  return policy.operator && (principal?.operator === true || workload === RECONCILE_WORKLOAD);
}

export interface AuthorizeOptions {
  /** The service served: the `service` label of the denial metric. */
  readonly service: string;
  /** Verifies the access tokens callers present (users through the edge, operators). */
  readonly verifier: TokenVerifier;
}

/**
 * Server interceptor enforcing the methods' call policies (`(shop.api.v1.policy)`), then the
 * edge's user rule (a valid bearer token for ACCESS_USER methods, which sets `ctx.principal`).
 *
 * - A call over TLS is allowed when the workload of its certificate is one the policy names, or,
 *   for an operator method, when it presents an operator's token or comes from `reconcile`.
 *   Otherwise UNAUTHENTICATED when it proved no identity at all, PERMISSION_DENIED when it did.
 * - A method without a policy is refused to every caller (default deny).
 * - Health is answered to anyone (load balancers and probes hold no certificate); reflection to
 *   any verified workload or operator.
 * - On a server without TLS (mutual TLS turned off, a development opt-out) no caller can prove
 *   a workload, so only the default deny, the user rule and the operator rule (an
 *   ACCESS_OPERATOR method needs an operator's token) apply; its first call logs a warning.
 *
 * Every denial is logged with the caller's identity and counted in `shopmesh_rpc_server_denied_total`.
 */
export function authorize(opts: AuthorizeOptions): ServerInterceptor {
  let warnedPlaintext = false;
  return (next) => async (ctx) => {
    const service = ctx.method.parent.typeName;
    if (openServices.has(service)) return next(ctx);
    const token = bearerToken(ctx.metadata);
    const principal = token === undefined ? undefined : await opts.verifier.verify(token);
    const secure = ctx.secure === true;
    const caller: Caller = { workload: secure ? ctx.workload : undefined, principal };
    if (meshServices.has(service)) {
      if (secure && caller.workload === undefined && principal?.operator !== true) deny(ctx, caller, opts.service);
      return next(ctx);
    }
    const callPolicy = callPolicyOf(ctx.method);
    if (!secure && callPolicy) {
      if (!warnedPlaintext) {
        warnedPlaintext = true;
        ctx.log.warn("server without TLS: no workload identity is verified, call policies are not enforced");
      }
    } else if (!isAllowed(callPolicy, caller)) {
      deny(ctx, caller, opts.service);
    }
    // An ACCESS_OPERATOR method over TLS was checked by its policy (an operator, or reconcile);
    // without TLS only an operator's token tells who may call it.
    if (!secure && requiresOperator(ctx.method) && principal?.operator !== true) deny(ctx, caller, opts.service);
    if (principal) ctx.principal = principal;
    else if (requiresUser(ctx.method) && !(secure && requiresOperator(ctx.method))) throw unauthenticated("missing bearer token");
    return next(ctx);
  };
}

function deny(ctx: CallContext, caller: Caller, service: string): never {
  const anonymous = caller.workload === undefined && caller.principal === undefined;
  const code = anonymous ? Code.Unauthenticated : Code.PermissionDenied;
  const method = `${ctx.method.parent.typeName}/${ctx.method.name}`;
  callsDenied.inc({ service, method, code: anonymous ? "unauthenticated" : "permission_denied", caller: caller.workload ?? "none" });
  ctx.log.warn(
    {
      caller_workload: caller.workload ?? null,
      user_id: caller.principal?.userId ?? null,
      operator: caller.principal?.operator === true,
      peer: ctx.peer,
      code: anonymous ? "unauthenticated" : "permission_denied",
    },
    "call denied by policy",
  );
  throw new ConnectError(
    anonymous ? "a verified caller identity is required" : `${caller.workload ?? "this caller"} may not call ${method}`,
    code,
  );
}
