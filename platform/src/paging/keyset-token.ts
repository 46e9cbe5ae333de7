import { invalidArgument } from "../errors.js";

/** What one field of a keyset cursor holds: a non-empty string, a UUID, or a time. */
export type KeysetFieldKind = "string" | "uuid" | "time";

/** The fields of a listing's cursor, in the order of its sort key, e.g. `{ createdAt: "time", id: "uuid" }`. */
export type KeysetLayout = Readonly<Record<string, KeysetFieldKind>>;

/** The cursor of `L`: a time for a "time" field, a string otherwise. */
export type CursorOf<L extends KeysetLayout> = { readonly [F in keyof L]: L[F] extends "time" ? Date : string };

/** The page tokens of one listing. */
export interface KeysetToken<C> {
  /** The opaque `next_page_token` of the page that ends at `last`. */
  encode(last: C): string;
  /**
   * The cursor of a token from a previous response; undefined for an empty token;
   * INVALID_ARGUMENT naming `page_token` for anything else.
   */
  decode(token: string): C | undefined;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TOKEN_LENGTH = 1024;

function parse(kind: KeysetFieldKind, raw: unknown): string | Date | undefined {
  if (typeof raw !== "string" || raw === "") return undefined;
  switch (kind) {
    case "string":
      return raw;
    case "uuid":
      return uuid.test(raw) ? raw : undefined;
    case "time": {
      const at = new Date(raw);
      return Number.isNaN(at.getTime()) ? undefined : at;
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown keyset field kind ${String(never)}`);
    }
  }
}

/**
 * Page tokens of a keyset listing: where the previous page ended (the sort key of its last row,
 * laid out as `layout` says), so that a page continues after that point however the data
 * changed. A token is opaque to callers: base64url of the JSON array of the fields' values.
 *
 * ```ts
 * const productPages = keysetToken({ name: "string", id: "string" });
 * productPages.encode({ name: "Moka Pot", id: "p-moka-pot" });
 * ```
 */
export function keysetToken<const L extends KeysetLayout>(layout: L): KeysetToken<CursorOf<L>> {
  const fields = Object.entries(layout);
  const bad = () => invalidArgument("page_token", "is not a token from a previous response");
  return {
    encode(last) {
      const values = fields.map(([name]) => {
        const value: unknown = last[name];
        return value instanceof Date ? value.toISOString() : value;
      });
      return Buffer.from(JSON.stringify(values)).toString("base64url");
    },
    decode(token) {
      if (!token) return undefined;
      if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
      let values: unknown;
      try {
        values = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
      } catch {
        throw bad();
      }
      if (!Array.isArray(values) || values.length !== fields.length) throw bad();
      const cursor: Record<string, string | Date> = {};
      for (const [i, [name, kind]] of fields.entries()) {
        const value = parse(kind, values[i]);
        if (value === undefined) throw bad();
        cursor[name] = value;
      }
      return cursor as CursorOf<L>;
    },
  };
}

/** Where a page of a listing by creation time, then id, ends: the (created_at, id) of its last row. */
export type KeysetCursor = CursorOf<typeof createdAtLayout>;

const createdAtLayout = { createdAt: "time", id: "uuid" } as const;
const createdAtPages = keysetToken(createdAtLayout);

/** The opaque `next_page_token` of a listing by creation time, then id, whose page ends at `last`. */
export const encodeKeysetToken = (last: KeysetCursor): string => createdAtPages.encode(last);

/** The cursor of a token of {@link encodeKeysetToken}; undefined for an empty token; INVALID_ARGUMENT naming `page_token` otherwise. */
export const decodeKeysetToken = (token: string): KeysetCursor | undefined => createdAtPages.decode(token);
