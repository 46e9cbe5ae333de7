import { invalidArgument } from "@shopmesh/platform";
import type { PageCursor } from "./product.js";

/**
 * Page tokens are opaque to callers: base64url of the last (name, id) of the previous page, so
 * that a page continues after that product however the catalog changed in between.
 */
export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, n: cursor.name, i: cursor.id }), "utf8").toString("base64url");
}

/** The cursor in `token`; undefined for an empty token; INVALID_ARGUMENT naming `page_token` otherwise. */
export function decodePageToken(token: string): PageCursor | undefined {
  if (token === "") return undefined;
  const bad = () => invalidArgument("page_token", "malformed page token; pass next_page_token from a previous response");
  if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (typeof parsed !== "object" || parsed === null) throw bad();
  const { v, n, i } = parsed as Record<string, unknown>;
  if (v !== 1 || typeof n !== "string" || typeof i !== "string" || i === "") throw bad();
  return { name: n, id: i };
}

/** Token of the internal listings: base64url of the last key (product or order id) of the previous page. */
export function encodeKeyToken(key: string): string {
  return Buffer.from(JSON.stringify({ v: 1, k: key }), "utf8").toString("base64url");
}

/** The key in `token`; undefined for an empty token; INVALID_ARGUMENT naming `page_token` otherwise. */
export function decodeKeyToken(token: string): string | undefined {
  if (token === "") return undefined;
  const bad = () => invalidArgument("page_token", "malformed page token; pass next_page_token from a previous response");
  if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  const { v, k } = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (v !== 1 || typeof k !== "string" || k === "") throw bad();
  return k;
}
