import { describe, expect, it } from "vitest";
import { violatedFields } from "../testing/violations.js";
import { decodeKeysetToken, encodeKeysetToken, keysetToken } from "./keyset-token.js";

const made = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("keyset page tokens", () => {
  it("give back the cursor they were made from, and nothing for an empty token", () => {
    const cursor = { createdAt: new Date("2026-11-24T10:00:00.123Z"), id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" };
    expect(decodeKeysetToken(encodeKeysetToken(cursor))).toEqual(cursor);
    expect(decodeKeysetToken("")).toBeUndefined();

    const byName = keysetToken({ name: "string", id: "string" });
    const token = byName.encode({ name: "Moka Pot, 6 Cups", id: "p-moka-pot" });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(byName.decode(token)).toEqual({ name: "Moka Pot, 6 Cups", id: "p-moka-pot" });
    expect(keysetToken({ key: "string" }).decode(keysetToken({ key: "string" }).encode({ key: "p-1" }))).toEqual({ key: "p-1" });
  });

  it("refuse anything not made by encodeKeysetToken, naming page_token", () => {
    for (const token of [
      "not-a-token!",
      made({ v: 1 }),
      made(["2026-11-24T10:00:00Z"]),
      made(["yesterday", "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"]),
      made(["2026-11-24T10:00:00Z", "1 or 1=1"]),
    ]) {
      expect(
        violatedFields(() => decodeKeysetToken(token)),
        token,
      ).toEqual(["page_token"]);
    }
  });

  it("refuse a token of another layout, values of the wrong kind and oversized tokens", () => {
    const byName = keysetToken({ name: "string", id: "string" });
    const byId = keysetToken({ id: "uuid" });
    for (const token of [
      "not a token",
      "bm9wZQ",
      made([1, 2]),
      made(["a", ""]),
      made({ v: 2, n: "a", i: "b" }),
      keysetToken({ key: "string" }).encode({ key: "p-1" }),
      "A".repeat(1025),
    ]) {
      expect(
        violatedFields(() => byName.decode(token)),
        token,
      ).toEqual(["page_token"]);
    }
    expect(violatedFields(() => byId.decode(made(["p-moka-pot"])))).toEqual(["page_token"]);
  });
});
