import type { Auth } from "../app/use-cases.js";
import { parseLogin } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toTokenResponse } from "./mapping.js";

export function login(auth: Auth): Handler<"login"> {
  return async (req) => toTokenResponse(await auth.login(parseLogin(req)));
}
