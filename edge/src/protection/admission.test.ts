import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { HeaderReader } from "../http/node-http.js";
import type { ExposedMethod, MethodAccess } from "../rpc/public-surface.js";
import { admit } from "./admission.js";
import type { Caller } from "./authenticate.js";

const exposed = (access: MethodAccess) => ({ access, rateLimit: undefined }) as unknown as ExposedMethod;
const headers = { get: () => null } as unknown as HeaderReader;
const as = (caller: Caller | undefined) => ({ authenticate: () => caller });
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "admitted",
    (e: unknown) => ConnectError.from(e).code,
  );

describe("admission by access", () => {
  const shopper: Caller = { token: "t", userId: "u-1", operator: false };
  const operator: Caller = { token: "t", userId: "u-2", operator: true };
  /** A token the edge did not verify (bearerTokenSyntax): the service decides. */
  const unverified: Caller = { token: "t" };

  it("an operator method needs a token (401) with the operator role (403)", async () => {
    expect(await codeOf(admit(as(undefined), exposed("operator"), "127.0.0.1", headers))).toBe(Code.Unauthenticated);
    expect(await codeOf(admit(as(shopper), exposed("operator"), "127.0.0.1", headers))).toBe(Code.PermissionDenied);
    expect(await codeOf(admit(as(operator), exposed("operator"), "127.0.0.1", headers))).toBe("admitted");
    expect(await codeOf(admit(as(unverified), exposed("operator"), "127.0.0.1", headers))).toBe("admitted");
  });

  it("user and public methods are as before", async () => {
    expect(await codeOf(admit(as(undefined), exposed("user"), "127.0.0.1", headers))).toBe(Code.Unauthenticated);
    expect(await codeOf(admit(as(shopper), exposed("user"), "127.0.0.1", headers))).toBe("admitted");
    expect(await codeOf(admit(as(undefined), exposed("public"), "127.0.0.1", headers))).toBe("admitted");
  });
});
