import { Code, ConnectError } from "@shopmesh/platform";
import { violatedFields } from "@shopmesh/platform/testing";
import { describe, expect, it } from "vitest";
import {
  normaliseEmail,
  parseEmail,
  parseLogin,
  parseLogout,
  parseName,
  parseNewPassword,
  parseRefresh,
  parseSignup,
} from "./validation.js";

function codeOf(fn: () => unknown): Code | "ok" {
  try {
    fn();
    return "ok";
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
}

describe("signup validation", () => {
  it("normalises emails by trimming and lower-casing", () => {
    expect(normaliseEmail("  Ada@Example.COM \n")).toBe("ada@example.com");
    expect(parseEmail("email", " Ada@Example.com")).toBe("ada@example.com");
  });

  it("refuses malformed and over-long emails", () => {
    for (const bad of ["", "   ", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", `${"a".repeat(250)}@x.com`]) {
      expect(
        codeOf(() => parseEmail("email", bad)),
        bad,
      ).toBe(Code.InvalidArgument);
    }
  });

  it("wants passwords of 8..256 characters", () => {
    expect(codeOf(() => parseNewPassword("password", "1234567"))).toBe(Code.InvalidArgument);
    expect(parseNewPassword("password", "12345678")).toBe("12345678");
    expect(codeOf(() => parseNewPassword("password", "x".repeat(257)))).toBe(Code.InvalidArgument);
  });

  it("wants a name of 1..100 characters after trimming", () => {
    expect(parseName("name", "  Ada ")).toBe("Ada");
    expect(codeOf(() => parseName("name", "   "))).toBe(Code.InvalidArgument);
    expect(codeOf(() => parseName("name", "x".repeat(101)))).toBe(Code.InvalidArgument);
  });
});

describe("request validation", () => {
  it("names every bad field of a signup", () => {
    expect(violatedFields(() => parseSignup({ email: "ada", password: "short", name: " " }))).toEqual(["email", "password", "name"]);
    expect(violatedFields(() => parseSignup({ email: "ada@example.com", password: "short", name: "Ada" }))).toEqual(["password"]);
    expect(parseSignup({ email: " Ada@Example.com", password: "12345678", name: " Ada " })).toEqual({
      email: "ada@example.com",
      password: "12345678",
      name: "Ada",
    });
  });

  it("wants both login fields, within signup's bounds, and no particular email format", () => {
    expect(violatedFields(() => parseLogin({ email: " ", password: "" }))).toEqual(["email", "password"]);
    expect(violatedFields(() => parseLogin({ email: "a@b.co", password: "x".repeat(257) }))).toEqual(["password"]);
    expect(parseLogin({ email: " Not-An-Email ", password: "pw" })).toEqual({ email: "not-an-email", password: "pw" });
  });

  it("wants a refresh token of sane length for Refresh and Logout, in no particular form", () => {
    expect(violatedFields(() => parseRefresh({ refreshToken: "" }))).toEqual(["refresh_token"]);
    expect(violatedFields(() => parseLogout({ refreshToken: "x".repeat(257) }))).toEqual(["refresh_token"]);
    expect(parseRefresh({ refreshToken: "no-such-token" })).toEqual({ refreshToken: "no-such-token" });
  });
});
