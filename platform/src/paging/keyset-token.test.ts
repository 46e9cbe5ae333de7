import { describe, expect, it } from "vitest";
import { violatedFields } from "../testing/violations.js";
import { decodeKeysetToken, encodeKeysetToken } from "./keyset-token.js";

describe("keyset page tokens", () => {
  it("give back the cursor they were made from, and nothing for an empty token", () => {
    const cursor = { createdAt: new Date("2026-11-24T10:00:00.123Z"), id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" };
    expect(decodeKeysetToken(encodeKeysetToken(cursor))).toEqual(cursor);
    expect(decodeKeysetToken("")).toBeUndefined();
  });

  it("refuse anything not made by encodeKeysetToken, naming page_token", () => {
    const made = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
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
});
