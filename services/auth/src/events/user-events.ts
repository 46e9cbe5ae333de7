import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createEnvelope, type Envelope } from "@shopmesh/platform";
import { UserRegisteredSchema } from "@shopmesh/proto/shop/auth/v1/events_pb.js";
import type { User } from "../domain/user.js";

/** The auth service's domain events, keyed by user id. */
const source = "auth";

export function userRegistered(user: User): Envelope {
  const message = create(UserRegisteredSchema, {
    userId: user.id,
    email: user.email,
    name: user.name,
    registeredAt: timestampFromDate(user.createdAt),
  });
  return createEnvelope(UserRegisteredSchema, message, { source, key: user.id });
}
