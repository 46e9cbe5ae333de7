import type { Auth } from "../auth/auth.service.js";
import { parseSignup } from "../auth/validation.js";
import type { Handler } from "./handler.js";
import { toTokenResponse } from "./mapping.js";

export function signup(auth: Auth): Handler<"signup"> {
  return async (req) => toTokenResponse(await auth.signup(parseSignup(req)));
}
