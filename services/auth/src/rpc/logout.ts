import type { Auth } from "../auth/auth.service.js";
import type { Handler } from "./handler.js";
import { parseRefreshToken } from "./mapping.js";

export function logout(auth: Auth): Handler<"logout"> {
  return async (req) => {
    await auth.logout(parseRefreshToken("refresh_token", req.refreshToken));
    return {};
  };
}
