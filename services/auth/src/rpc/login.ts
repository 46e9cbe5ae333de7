import { unauthenticated } from "@shopmesh/platform";
import type { Auth } from "../auth/auth.service.js";
import { normaliseEmail } from "../auth/validation.js";
import type { Handler } from "./handler.js";
import { toTokenResponse } from "./mapping.js";

export function login(auth: Auth): Handler<"login"> {
  return async (req) => {
    // No format checks: a malformed email is just one no user has.
    if (req.email === "" || req.password === "") throw unauthenticated("invalid email or password");
    return toTokenResponse(await auth.login({ email: normaliseEmail(req.email), password: req.password }));
  };
}
