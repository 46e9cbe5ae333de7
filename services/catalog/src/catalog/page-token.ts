import { invalidArgument } from "@shopmesh/platform";
import type { PageCursor } from "../domain/product.js";

/**
 * Page tokens are opaque to callers: base64url of a small versioned JSON object naming where the
 * previous page ended, so that a page continues after that point however the data changed.
 */

const malformed = () => invalidArgument("page_token", "malformed page token; pass next_page_token from a previous response");

const encodeToken = (fields: Record<string, string>): string =>
  Buffer.from(JSON.stringify({ v: 1, ...fields }), "utf8").toString("base64url");

/** The fields of a version-1 token; undefined for an empty token; INVALID_ARGUMENT naming `page_token` otherwise. */
function decodeToken(token: string): Record<string, unknown> | undefined {
  if (token === "") return undefined;
  if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw malformed();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw malformed();
  }
  if (typeof parsed !== "object" || parsed === null || (parsed as Record<string, unknown>).v !== 1) throw malformed();
  return parsed as Record<string, unknown>;
}

/** Token of ListProducts: the last (name, id) of the previous page. */
export function encodePageToken(cursor: PageCursor): string {
  return encodeToken({ n: cursor.name, i: cursor.id });
}

/** The cursor in `token`; undefined for an empty token; INVALID_ARGUMENT naming `page_token` otherwise. */
export function decodePageToken(token: string): PageCursor | undefined {
  const fields = decodeToken(token);
  if (fields === undefined) return undefined;
  const { n, i } = fields;
  if (typeof n !== "string" || typeof i !== "string" || i === "") throw malformed();
  return { name: n, id: i };
}

/** Token of the internal listings: the last key (product or order id) of the previous page. */
export function encodeKeyToken(key: string): string {
  return encodeToken({ k: key });
}

/** The key in `token`; undefined for an empty token; INVALID_ARGUMENT naming `page_token` otherwise. */
export function decodeKeyToken(token: string): string | undefined {
  const fields = decodeToken(token);
  if (fields === undefined) return undefined;
  const { k } = fields;
  if (typeof k !== "string" || k === "") throw malformed();
  return k;
}
