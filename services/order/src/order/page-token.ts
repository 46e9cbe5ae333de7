import { invalidArgument } from "@shopmesh/platform";

/** Where a keyset page ends: the (created_at, id) of its last order. */
export interface PageCursor {
  readonly createdAt: Date;
  readonly id: string;
}

export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString("base64url");
}

/** The cursor of a token from a previous response; undefined for none; INVALID_ARGUMENT for anything else. */
export function decodePageToken(token: string): PageCursor | undefined {
  if (!token) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (!Array.isArray(parsed) || parsed.length !== 2) throw new Error("bad token");
    const [at, id] = parsed as unknown[];
    if (typeof at !== "string" || typeof id !== "string" || !/^[0-9a-f-]{36}$/.test(id)) throw new Error("bad token");
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime())) throw new Error("bad token");
    return { createdAt, id };
  } catch {
    throw invalidArgument("page_token", "is not a token from a previous response");
  }
}
