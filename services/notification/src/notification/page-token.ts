import { invalidArgument } from "@shopmesh/platform";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Page tokens are base64url of the last id of the previous page (ids are UUIDv7, ordered by time). */
export function encodePageToken(lastId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, i: lastId }), "utf8").toString("base64url");
}

/** The id to continue before; undefined for an empty token; INVALID_ARGUMENT naming `page_token` otherwise. */
export function decodePageToken(token: string): string | undefined {
  if (token === "") return undefined;
  const bad = () => invalidArgument("page_token", "malformed page token; pass next_page_token from a previous response");
  if (token.length > 256 || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (typeof parsed !== "object" || parsed === null) throw bad();
  const { v, i } = parsed as Record<string, unknown>;
  if (v !== 1 || typeof i !== "string" || !uuid.test(i)) throw bad();
  return i;
}
