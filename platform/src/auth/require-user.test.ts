import * as grpc from "@grpc/grpc-js";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { describe, expect, it } from "vitest";
import type { CallContext } from "../grpc/context.js";
import { createLogger } from "../logger.js";
import { bearerToken, requireUser, requiresUser } from "./require-user.js";
import type { TokenVerifier } from "./token-verifier.js";

function metadata(values: string[]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const v of values) md.add("authorization", v);
  return md;
}

const verifier: TokenVerifier = {
  async verify(token) {
    if (token !== "good") throw Object.assign(new Error("bad"), { code: 16 });
    return { userId: "u1", tokenId: "t1" };
  },
};

function ctxFor(method: CallContext["method"], md: grpc.Metadata): CallContext {
  return {
    method,
    metadata: md,
    deadline: undefined,
    signal: new AbortController().signal,
    log: createLogger({ level: "silent" }),
    peer: "test",
  };
}

describe("requireUser", () => {
  it("reads ACCESS_USER from the edge option", () => {
    expect(requiresUser(AuthService.method.getMe)).toBe(true);
    expect(requiresUser(AuthService.method.login)).toBe(false);
  });

  it("parses bearer headers and refuses other shapes", () => {
    expect(bearerToken(metadata([]))).toBeUndefined();
    expect(bearerToken(metadata(["Bearer abc.def.ghi"]))).toBe("abc.def.ghi");
    expect(bearerToken(metadata(["bearer abc"]))).toBe("abc");
    expect(() => bearerToken(metadata(["abc"]))).toThrow(/authorization/);
    expect(() => bearerToken(metadata(["Basic abc"]))).toThrow(/authorization/);
    expect(() => bearerToken(metadata(["Bearer a", "Bearer b"]))).toThrow(/authorization/);
  });

  it("sets the principal on the context object itself and requires it for user methods", async () => {
    let seen: CallContext | undefined;
    const call = requireUser(verifier)(async (ctx) => {
      seen = ctx;
      return "ok";
    });
    const ctx = ctxFor(AuthService.method.getMe, metadata(["Bearer good"]));
    await call(ctx);
    expect(seen).toBe(ctx);
    expect(ctx.principal).toEqual({ userId: "u1", tokenId: "t1" });

    await expect(call(ctxFor(AuthService.method.getMe, metadata([])))).rejects.toMatchObject({ code: 16 });
    await expect(call(ctxFor(AuthService.method.getMe, metadata(["Bearer bad"])))).rejects.toThrow();

    const anonymous = ctxFor(AuthService.method.login, metadata([]));
    await call(anonymous);
    expect(anonymous.principal).toBeUndefined();
    const signedIn = ctxFor(AuthService.method.login, metadata(["Bearer good"]));
    await call(signedIn);
    expect(signedIn.principal?.userId).toBe("u1");
  });
});
