import type { Auth } from "../auth/auth.service.js";
import { parseEmail, parseName, parseNewPassword } from "../auth/validation.js";
import type { Handler } from "./handler.js";
import { toTokenResponse } from "./mapping.js";

export function signup(auth: Auth): Handler<"signup"> {
  return async (req) => {
    const input = {
      email: parseEmail("email", req.email),
      password: parseNewPassword("password", req.password),
      name: parseName("name", req.name),
    };
    return toTokenResponse(await auth.signup(input));
  };
}
