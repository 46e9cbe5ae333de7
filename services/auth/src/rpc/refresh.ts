import type { Auth } from "../app/use-cases.js";
import { parseRefresh } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toTokenResponse } from "./mapping.js";

export function refresh(auth: Auth): Handler<"refresh"> {
  return async (req) => toTokenResponse(await auth.refresh(parseRefresh(req).refreshToken));
}
