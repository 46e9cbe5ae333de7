import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { ConfigError } from "../config.js";
import { closeClient, createClient } from "../grpc/client.js";
import type { Logger } from "../logger.js";
import type { MeshTls } from "../tls/credentials.js";
import { createGrpcJwksProvider } from "./jwks-provider.js";
import { createTokenVerifier, type TokenVerifier } from "./token-verifier.js";

/** The auth settings every token-verifying service reads from its environment. */
export interface AuthVerifierConfig {
  readonly AUTH_ADDR: string | undefined;
  readonly AUTH_ISSUER: string;
  readonly AUTH_AUDIENCE: string;
}

export interface AuthVerifier {
  readonly verifier: TokenVerifier;
  /** Closes the client of auth this verifier opened (none for an injected verifier). */
  close(): void;
}

/**
 * A service's access-token verifier: `injected` when given (tests, in-process callers),
 * otherwise one over auth's JWKS (GetJwks at AUTH_ADDR, fetched once and cached), checking
 * AUTH_ISSUER and AUTH_AUDIENCE, over mutual TLS with `tls`. Without either, a ConfigError names AUTH_ADDR.
 */
export function authVerifier(
  config: AuthVerifierConfig,
  injected: TokenVerifier | undefined,
  logger?: Logger,
  tls?: MeshTls,
): AuthVerifier {
  if (injected) return { verifier: injected, close: () => undefined };
  if (config.AUTH_ADDR === undefined) {
    throw new ConfigError(
      "missing required environment variable AUTH_ADDR (host:port of the auth service, whose GetJwks verifies access tokens)",
    );
  }
  const client = createClient(AuthService, config.AUTH_ADDR, { ...(logger ? { logger } : {}), tls });
  return {
    verifier: createTokenVerifier({ jwks: createGrpcJwksProvider(client), issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE }),
    close: () => closeClient(client),
  };
}
