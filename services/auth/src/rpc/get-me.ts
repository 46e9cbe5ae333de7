import { unauthenticated } from "@shopmesh/platform";
import type { Auth } from "../app/use-cases.js";
import type { Handler } from "./handler.js";
import { toProtoUser } from "./mapping.js";

/** The caller is set by the requireUser interceptor (GetMe is ACCESS_USER). */
export function getMe(auth: Auth): Handler<"getMe"> {
  return async (_req, ctx) => {
    if (!ctx.principal) throw unauthenticated();
    return { user: toProtoUser(await auth.getUser(ctx.principal.userId)) };
  };
}
