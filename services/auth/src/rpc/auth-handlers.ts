import type { ServiceHandlers } from "@shopmesh/platform";
import type { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import type { Auth } from "../app/use-cases.js";
import { createOperator } from "./create-operator.js";
import { getJwks } from "./get-jwks.js";
import { getMe } from "./get-me.js";
import { login } from "./login.js";
import { logout } from "./logout.js";
import { refresh } from "./refresh.js";
import { signup } from "./signup.js";

/** Every AuthService RPC, bound to the auth use cases. */
export function authHandlers(auth: Auth): ServiceHandlers<typeof AuthService> {
  return {
    signup: signup(auth),
    login: login(auth),
    refresh: refresh(auth),
    logout: logout(auth),
    getJwks: getJwks(auth),
    getMe: getMe(auth),
    createOperator: createOperator(auth),
  };
}
