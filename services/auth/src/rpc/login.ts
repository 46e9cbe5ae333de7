import type { Auth } from "../auth/auth.service.js";
import { parseLogin } from "../auth/validation.js";
import type { Handler } from "./handler.js";
import { toTokenResponse } from "./mapping.js";

export function login(auth: Auth): Handler<"login"> {
  return async (req) => toTokenResponse(await auth.login(parseLogin(req)));
}
