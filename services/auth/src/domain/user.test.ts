import { OPERATOR_ROLE } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { isOperator, refreshTokenUse } from "./user.js";

describe("user rules", () => {
  it("an operator is a user with the operator role", () => {
    expect(isOperator([OPERATOR_ROLE])).toBe(true);
    expect(isOperator([])).toBe(false);
  });

  it("a refresh token is refused when revoked or expired, reused when used, else rotated", () => {
    const now = new Date("2026-12-07T12:00:00Z");
    const fresh = { revokedAt: null, expiresAt: new Date("2026-12-08T00:00:00Z"), usedAt: null };
    expect(refreshTokenUse(fresh, now)).toBe("rotate");
    expect(refreshTokenUse({ ...fresh, usedAt: new Date("2026-12-07T11:00:00Z") }, now)).toBe("reused");
    expect(refreshTokenUse({ ...fresh, expiresAt: now }, now)).toBe("refused");
    expect(refreshTokenUse({ ...fresh, revokedAt: now, usedAt: now }, now)).toBe("refused");
  });
});
