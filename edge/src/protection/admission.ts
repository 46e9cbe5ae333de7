import { Code, ConnectError } from "@connectrpc/connect";
import type { HeaderReader } from "../http/node-http.js";
import type { AccessRule } from "../rpc/public-surface.js";
import type { Authenticate, Caller } from "./authenticate.js";
import type { Protection } from "./protection.js";

/** What the admission gate applies. */
export interface AdmissionOptions {
  readonly authenticate: Authenticate;
  /** Rate and stream limits per client address and per user; none when absent. */
  readonly protection?: Protection;
}

/**
 * The edge's admission gate for a call of an exposed method, the same for a REST route and a
 * Connect, gRPC-Web or gRPC call: the client address's rate limits (and the stricter one of
 * sign-up and sign-in), then the method's access rule (a method with access "user" or
 * "operator" answers UNAUTHENTICATED to a caller without credentials, one with access
 * "operator" PERMISSION_DENIED to a verified caller without the operator role), then the
 * verified user's rate limit.
 * Resolves to the caller, undefined for an anonymous one; throws the refusal.
 */
export async function admit(
  opts: AdmissionOptions,
  exposed: AccessRule,
  client: string,
  headers: HeaderReader,
): Promise<Caller | undefined> {
  opts.protection?.admitClient(exposed, client);
  const caller = await opts.authenticate(headers);
  if ((exposed.access === "user" || exposed.access === "operator") && caller === undefined) {
    throw new ConnectError("this method needs a signed-in user: send Authorization: Bearer <access_token>", Code.Unauthenticated);
  }
  // A verified token without the operator role goes no further; the service checks it again.
  if (exposed.access === "operator" && caller?.operator === false) {
    throw new ConnectError("this method is for operators", Code.PermissionDenied);
  }
  opts.protection?.admitUser(caller, client);
  return caller;
}
