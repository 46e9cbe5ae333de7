import type { Jwk } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import type { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import type { JSONWebKeySet, JWK } from "jose";
import type { Client } from "../grpc/client.js";
import type { JwksProvider } from "./token-verifier.js";

/** A JWKS provider that asks auth's `GetJwks` over gRPC (give it to `createTokenVerifier`). */
export function createGrpcJwksProvider(client: Pick<Client<typeof AuthService>, "getJwks">, timeoutMs = 3_000): JwksProvider {
  return async () => {
    const res = await client.getJwks({}, { timeoutMs });
    return { keys: res.keys.map(jwkFromProto) };
  };
}

/** A proto Jwk as a JSON Web Key: the fields the key type does not use (empty strings) are left out. */
export function jwkFromProto(jwk: Jwk): JWK {
  const out: JWK = {};
  for (const name of ["kty", "kid", "alg", "use", "crv", "x", "y", "n", "e"] as const) {
    if (jwk[name] !== "") out[name] = jwk[name];
  }
  return out;
}

export type { JSONWebKeySet };
