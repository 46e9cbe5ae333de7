import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { JwkSchema, UserSchema } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import type { JWK } from "jose";
import type { TokenPair, User } from "../domain/user.js";

export function toProtoUser(user: User): MessageInitShape<typeof UserSchema> {
  return { id: user.id, email: user.email, name: user.name, createdAt: timestampFromDate(user.createdAt), operator: user.operator };
}

/** The fields shared by the responses of Signup, Login and Refresh. */
export function toTokenResponse(pair: TokenPair) {
  return {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    expiresIn: pair.expiresIn,
    tokenType: "Bearer",
    user: toProtoUser(pair.user),
  };
}

export function toProtoJwk(jwk: JWK): MessageInitShape<typeof JwkSchema> {
  return {
    kty: jwk.kty ?? "",
    kid: jwk.kid ?? "",
    alg: jwk.alg ?? "",
    use: jwk.use ?? "",
    crv: jwk.crv ?? "",
    x: jwk.x ?? "",
    y: jwk.y ?? "",
    n: jwk.n ?? "",
    e: jwk.e ?? "",
  };
}
