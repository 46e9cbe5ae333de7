import { type Migration, outboxMigrations } from "@shopmesh/platform";
import { auditMigrations } from "@shopmesh/platform";
import * as createAuth from "./20261124T0800_create_auth.js";
import * as signingKeyRotation from "./20261207T0500_signing_key_rotation.js";
import * as addUserRoles from "./20261207T0600_add_user_roles.js";

/** Migrations of the auth schema, by name; names sort in the order they apply. */
export const authMigrations: Readonly<Record<string, Migration>> = {
  ...auditMigrations,
  ...outboxMigrations,
  "20261124T0800_create_auth": createAuth,
  "20261207T0500_signing_key_rotation": signingKeyRotation,
  "20261207T0600_add_user_roles": addUserRoles,
};
