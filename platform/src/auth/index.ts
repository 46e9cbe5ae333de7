export { createGrpcJwksProvider, jwkFromProto } from "./jwks-provider.js";
export { bearerToken, requireUser, requiresOperator, requiresUser } from "./require-user.js";
export {
  createTokenVerifier,
  OPERATOR_ROLE,
  type JSONWebKeySet,
  type JwksProvider,
  type TokenVerifier,
  type TokenVerifierOptions,
} from "./token-verifier.js";
export { type AuthVerifier, type AuthVerifierConfig, authVerifier } from "./auth-verifier.js";
export {
  type AuthorizeOptions,
  authorize,
  type Caller,
  callPolicyOf,
  callsDenied,
  isAllowed,
  RECONCILE_WORKLOAD,
} from "./authorize.js";
