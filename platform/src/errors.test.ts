import { describe, expect, it } from "vitest";
import { Code, ConnectError, fieldViolationsOf, invalidArgument, notFound, violations } from "./errors.js";
import { violatedFields } from "./testing/violations.js";

function thrown(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("invalid arguments", () => {
  it("name their one bad field in the message and in a field violation", () => {
    const err = invalidArgument("email", "not an email address");
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("email: not an email address");
    expect(fieldViolationsOf(err)).toEqual([{ field: "email", description: "not an email address" }]);
  });

  it("are collected: every bad field checked or parsed gives one violation, in order", () => {
    const v = violations();
    v.check(true, "name", "required");
    v.check(false, "qty", "must be positive");
    const email = v.parse(() => {
      throw invalidArgument("email", "not an email address");
    }, "");
    const id = v.parse(() => "p1", "");
    expect([email, id]).toEqual(["", "p1"]);
    const err = thrown(() => v.throwIfAny());
    expect(err.rawMessage).toBe("qty: must be positive; email: not an email address");
    expect(violatedFields(() => v.throwIfAny())).toEqual(["qty", "email"]);
  });

  it("pass when nothing is wrong, and let other errors through parse", () => {
    const v = violations();
    v.check(true, "qty", "must be positive");
    expect(() => v.throwIfAny()).not.toThrow();
    expect(
      thrown(() =>
        v.parse(() => {
          throw notFound("cart");
        }, 0),
      ).code,
    ).toBe(Code.NotFound);
  });
});
