import type { Auth } from "../auth/auth.service.js";
import { parseRefresh } from "../auth/validation.js";
import type { Handler } from "./handler.js";
import { toTokenResponse } from "./mapping.js";

export function refresh(auth: Auth): Handler<"refresh"> {
  return async (req) => toTokenResponse(await auth.refresh(parseRefresh(req).refreshToken));
}
