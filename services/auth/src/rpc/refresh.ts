import type { Auth } from "../auth/auth.service.js";
import type { Handler } from "./handler.js";
import { parseRefreshToken, toTokenResponse } from "./mapping.js";

export function refresh(auth: Auth): Handler<"refresh"> {
  return async (req) => toTokenResponse(await auth.refresh(parseRefreshToken("refresh_token", req.refreshToken)));
}
