import type { Auth } from "../app/use-cases.js";
import type { Handler } from "./handler.js";
import { toProtoJwk } from "./mapping.js";

export function getJwks(auth: Auth): Handler<"getJwks"> {
  return async () => ({ keys: (await auth.jwks()).keys.map(toProtoJwk) });
}
