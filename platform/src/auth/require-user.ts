import { type DescMethod, getOption, hasOption } from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";
import { Access, edge } from "@shopmesh/proto/shop/api/v1/annotations_pb.js";
import { unauthenticated } from "../errors.js";
import type { ServerInterceptor } from "../grpc/interceptors.js";
import type { TokenVerifier } from "./token-verifier.js";

const needsUserCache = new WeakMap<DescMethod, boolean>();

/** Whether the method's `(shop.api.v1.edge)` rule says ACCESS_USER or ACCESS_OPERATOR: a token is needed. */
export function requiresUser(method: DescMethod): boolean {
  let needs = needsUserCache.get(method);
  if (needs === undefined) {
    const access = hasOption(method, edge) ? getOption(method, edge).access : Access.UNSPECIFIED;
    needs = access === Access.USER || access === Access.OPERATOR;
    needsUserCache.set(method, needs);
  }
  return needs;
}

const needsOperatorCache = new WeakMap<DescMethod, boolean>();

/** Whether the method's `(shop.api.v1.edge)` rule says ACCESS_OPERATOR: only an operator's token will do. */
export function requiresOperator(method: DescMethod): boolean {
  let needs = needsOperatorCache.get(method);
  if (needs === undefined) {
    needs = hasOption(method, edge) && getOption(method, edge).access === Access.OPERATOR;
    needsOperatorCache.set(method, needs);
  }
  return needs;
}

/**
 * The token of an `authorization: Bearer <token>` header; undefined without the header;
 * UNAUTHENTICATED for a header of another shape.
 */
export function bearerToken(metadata: Metadata): string | undefined {
  const values = metadata.get("authorization");
  if (values.length === 0) return undefined;
  const value = values[0];
  const match = typeof value === "string" ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value) : null;
  if (values.length > 1 || !match?.[1]) throw unauthenticated("malformed authorization header");
  return match[1];
}

/**
 * Server interceptor: for methods whose edge access is ACCESS_USER, a valid bearer access
 * token is required and sets `ctx.principal`; other methods run anonymously without a token,
 * and a token they are given must be valid too (it sets `ctx.principal` the same way).
 */
export function requireUser(verifier: TokenVerifier): ServerInterceptor {
  return (next) => async (ctx) => {
    const token = bearerToken(ctx.metadata);
    if (token === undefined) {
      if (requiresUser(ctx.method)) throw unauthenticated("missing bearer token");
      return next(ctx);
    }
    ctx.principal = await verifier.verify(token);
    return next(ctx);
  };
}
