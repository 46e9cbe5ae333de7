import { invalidArgument } from "@shopmesh/platform";
import type { Payment } from "./payment.js";

/** Where a page of ListPayments ended: the last payment's creation time and id. */
export interface PageCursor {
  readonly createdAt: Date;
  readonly id: string;
}

/** The opaque token of the page after `last`. */
export function encodePageToken(last: Payment): string {
  return Buffer.from(JSON.stringify([last.createdAt.toISOString(), last.id])).toString("base64url");
}

/** The cursor in `token`; undefined for an empty token; INVALID_ARGUMENT naming `page_token` otherwise. */
export function decodePageToken(token: string): PageCursor | undefined {
  if (!token) return undefined;
  try {
    const [at, id] = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as [string, string];
    const createdAt = new Date(at);
    if (typeof id !== "string" || Number.isNaN(createdAt.getTime())) throw new Error("bad token");
    return { createdAt, id };
  } catch {
    throw invalidArgument("page_token", "not a token from a previous response");
  }
}
