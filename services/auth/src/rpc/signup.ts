import type { Auth } from "../app/use-cases.js";
import { parseSignup } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toTokenResponse } from "./mapping.js";

export function signup(auth: Auth): Handler<"signup"> {
  return async (req) => toTokenResponse(await auth.signup(parseSignup(req)));
}
