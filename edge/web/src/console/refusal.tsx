import { ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@shopmesh/proto/google/rpc/error_details_pb.js";
import { Code } from "../api.js";

/** The HTTP status the edge answers for a Connect code (as its REST routes do), for people reading a refusal. */
const httpOf: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.FailedPrecondition]: 412,
  [Code.ResourceExhausted]: 429,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
};

/** "PERMISSION_DENIED" for Code.PermissionDenied. */
export function codeName(code: Code): string {
  return (Code[code] ?? "UNKNOWN").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** The field violations of an INVALID_ARGUMENT answer (google.rpc.BadRequest), by field path. */
export function fieldErrors(err: unknown): Map<string, string> {
  const e = ConnectError.from(err);
  const out = new Map<string, string>();
  for (const d of e.findDetails(BadRequestSchema)) for (const v of d.fieldViolations) out.set(v.field, v.description);
  return out;
}

/**
 * An operator call the edge or the service refused, said plainly: above all a 403
 * (PERMISSION_DENIED) for an account without the operator role.
 */
export function Refusal(props: { err: unknown; what: string; retry?: () => void }) {
  const e = ConnectError.from(props.err);
  const http = httpOf[e.code];
  const label = `${http ? `${http} ` : ""}${codeName(e.code)}`;
  let text: string;
  switch (e.code) {
    case Code.PermissionDenied:
      text = `Refused: this account is not an operator, so ${props.what} is not allowed.`;
      break;
    case Code.Unauthenticated:
      text = "Refused: the session is over. Sign in again.";
      break;
    case Code.NotFound:
      text = `Not found: ${props.what} found nothing.`;
      break;
    case Code.Unimplemented:
      text = `Not available yet: ${props.what} is not implemented by this deployment.`;
      break;
    default:
      text = `${props.what} failed: ${e.rawMessage || "no reason given"}.`;
  }
  return (
    <div class="notice notice-error refusal" role="alert" data-code={codeName(e.code).toLowerCase()}>
      <p>
        <strong>{label}</strong> {text}
      </p>
      {props.retry && e.code !== Code.PermissionDenied ? (
        <button type="button" class="button-secondary" onClick={props.retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
