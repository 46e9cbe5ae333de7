import type { Auth } from "../app/use-cases.js";
import { parseCreateOperator } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoUser } from "./mapping.js";

/** Only the operator-cli workload may call it (its call policy). */
export function createOperator(auth: Auth): Handler<"createOperator"> {
  return async (req) => {
    const { user, created } = await auth.createOperator(parseCreateOperator(req));
    return { user: toProtoUser(user), created };
  };
}
