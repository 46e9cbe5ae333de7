import { describe, expect, it } from "vitest";
import { ConfigError } from "../config.js";
import { authVerifier } from "./auth-verifier.js";
import type { TokenVerifier } from "./token-verifier.js";

describe("authVerifier", () => {
  const config = { AUTH_ADDR: undefined, AUTH_ISSUER: "shopmesh", AUTH_AUDIENCE: "shopmesh" };

  it("uses an injected verifier as it is, without AUTH_ADDR", () => {
    const injected: TokenVerifier = { verify: async () => ({ userId: "u", email: "", tokenId: "", expiresAt: new Date() }) } as never;
    expect(authVerifier(config, injected).verifier).toBe(injected);
  });

  it("names AUTH_ADDR when it has neither", () => {
    expect(() => authVerifier(config, undefined)).toThrow(ConfigError);
    expect(() => authVerifier(config, undefined)).toThrow(/AUTH_ADDR/);
  });

  it("verifies against auth's JWKS at AUTH_ADDR, refusing a token it cannot check", async () => {
    const { verifier, close } = authVerifier({ ...config, AUTH_ADDR: "127.0.0.1:1" }, undefined);
    try {
      await expect(verifier.verify("not-a-jwt")).rejects.toMatchObject({ code: expect.any(Number) });
    } finally {
      close();
    }
  });
});
