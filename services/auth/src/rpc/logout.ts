import type { Auth } from "../app/use-cases.js";
import { parseLogout } from "../domain/validation.js";
import type { Handler } from "./handler.js";

export function logout(auth: Auth): Handler<"logout"> {
  return async (req) => {
    await auth.logout(parseLogout(req).refreshToken);
    return {};
  };
}
