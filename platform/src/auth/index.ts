export { createGrpcJwksProvider, jwkFromProto } from "./jwks-provider.js";
export { bearerToken, requireUser, requiresUser } from "./require-user.js";
export {
  createTokenVerifier,
  type JSONWebKeySet,
  type JwksProvider,
  type TokenVerifier,
  type TokenVerifierOptions,
} from "./token-verifier.js";
export { type AuthVerifier, type AuthVerifierConfig, authVerifier } from "./auth-verifier.js";
