import type { Auth } from "../auth/auth.service.js";
import { parseLogout } from "../auth/validation.js";
import type { Handler } from "./handler.js";

export function logout(auth: Auth): Handler<"logout"> {
  return async (req) => {
    await auth.logout(parseLogout(req).refreshToken);
    return {};
  };
}
