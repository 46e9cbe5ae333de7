import { describe, expect, it } from "vitest";
import { DEFAULT_SCRYPT_PARAMS, hashPassword, verifyPassword } from "./password.js";

describe("password hashing", () => {
  it("stores the parameters and a per-user salt with the hash", async () => {
    const small = { log2N: 10, r: 8, p: 1 };
    const a = await hashPassword("correct horse", small);
    const b = await hashPassword("correct horse", small);
    expect(a).toMatch(/^scrypt\$10\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse", a)).toBe(true);
    expect(await verifyPassword("correct horse!", a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
  });

  it("verifies with the cost stored in the hash, not the current default", async () => {
    const old = await hashPassword("password1", { log2N: 11, r: 8, p: 1 });
    expect(await verifyPassword("password1", old)).toBe(true);
  });

  it("refuses an unknown hash format", async () => {
    await expect(verifyPassword("x", "bcrypt$2b$...")).rejects.toThrow(/format/);
  });

  it("hashes with the default cost (N=2^15, r=8, p=1) in reasonable time", async () => {
    expect(DEFAULT_SCRYPT_PARAMS).toEqual({ log2N: 15, r: 8, p: 1 });
    const started = performance.now();
    const hash = await hashPassword("correct horse battery", DEFAULT_SCRYPT_PARAMS);
    const hashMs = performance.now() - started;
    const verifyStarted = performance.now();
    expect(await verifyPassword("correct horse battery", hash)).toBe(true);
    const verifyMs = performance.now() - verifyStarted;
    console.info(`scrypt N=2^15 r=8 p=1: hash ${hashMs.toFixed(1)} ms, verify ${verifyMs.toFixed(1)} ms`);
    expect(hashMs).toBeLessThan(2_000);
  });
});
