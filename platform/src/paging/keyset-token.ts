import { invalidArgument } from "../errors.js";

/** Where a keyset page (ordered by creation time, then id) ends: the (created_at, id) of its last row. */
export interface KeysetCursor {
  readonly createdAt: Date;
  readonly id: string;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The opaque `next_page_token` of the page that ends at `last`. */
export function encodeKeysetToken(last: KeysetCursor): string {
  return Buffer.from(JSON.stringify([last.createdAt.toISOString(), last.id])).toString("base64url");
}

/**
 * The cursor of a token from a previous response; undefined for an empty token; INVALID_ARGUMENT
 * naming `page_token` for anything else.
 */
export function decodeKeysetToken(token: string): KeysetCursor | undefined {
  if (!token) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (!Array.isArray(parsed) || parsed.length !== 2) throw new Error("bad token");
    const [at, id] = parsed as unknown[];
    if (typeof at !== "string" || typeof id !== "string" || !uuid.test(id)) throw new Error("bad token");
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime())) throw new Error("bad token");
    return { createdAt, id };
  } catch {
    throw invalidArgument("page_token", "is not a token from a previous response");
  }
}
