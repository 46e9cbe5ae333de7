import type { MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@shopmesh/proto/google/rpc/error_details_pb.js";
import { type ListProductsRequestSchema, type Product, ProductSort } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { useEffect, useRef, useState } from "preact/hooks";
import { Code, catalog } from "./api.js";

/**
 * The orders a shopper can pick besides the default, by their word in the URL (as the REST API's
 * `sort`); the default is relevance with a query and name without one.
 */
export const sorts = {
  price_asc: ProductSort.PRICE_ASC,
  price_desc: ProductSort.PRICE_DESC,
  name: ProductSort.NAME,
} as const;
export type SortWord = keyof typeof sorts;

/**
 * A search as the catalog page's URL carries it: `/?q=moka&sort=price_asc&category=coffee&min=10&max=50`.
 * Prices are what the shopper typed, in the shop's currency; an empty string is "not set".
 */
export interface Search {
  readonly q: string;
  /** Empty for the catalog's default: relevance with a query, name without ("relevance" in a URL reads as empty). */
  readonly sort: SortWord | "";
  readonly category: string;
  readonly min: string;
  readonly max: string;
}

/** The fields of a search, each named after the input that edits it. */
export type SearchField = keyof Search;

export const noSearch: Search = { q: "", sort: "", category: "", min: "", max: "" };

const isSort = (word: string): word is SortWord => Object.hasOwn(sorts, word);

/** The search a URL's query names; an unknown sort word is the default order. */
export function searchOf(query: URLSearchParams): Search {
  const sort = query.get("sort") ?? "";
  return {
    q: query.get("q") ?? "",
    sort: isSort(sort) ? sort : "",
    category: query.get("category") ?? "",
    min: query.get("min") ?? "",
    max: query.get("max") ?? "",
  };
}

/**
 * The catalog page's URL for a search: "/" for none, fields trimmed and in a fixed order, empty
 * ones left out. Searches with the same URL are the same search: typing a space calls nothing.
 */
export function hrefOf(s: Search): string {
  const query = new URLSearchParams();
  for (const field of ["q", "sort", "category", "min", "max"] as const) {
    const value = s[field].trim();
    if (value !== "") query.set(field, value);
  }
  const text = query.toString();
  return text === "" ? "/" : `/?${text}`;
}

/** Cents of a typed amount ("12.5" → 1250); undefined when empty, NaN when not a number. */
function centsOf(amount: string): number | undefined {
  if (amount.trim() === "") return undefined;
  const n = Number(amount);
  return Number.isFinite(n) ? Math.round(n * 100) : Number.NaN;
}

type ListRequest = MessageInitShape<typeof ListProductsRequestSchema>;

/**
 * The ListProducts request of a search, or the fields that cannot become one (a price that is
 * not a number, typed into the URL). Everything else is the catalog's to judge.
 */
function requestOf(s: Search, pageToken: string): ListRequest | Map<SearchField, string> {
  const minPriceCents = centsOf(s.min);
  const maxPriceCents = centsOf(s.max);
  const bad = new Map<SearchField, string>();
  if (Number.isNaN(minPriceCents)) bad.set("min", "Enter an amount, such as 12.50.");
  if (Number.isNaN(maxPriceCents)) bad.set("max", "Enter an amount, such as 12.50.");
  if (bad.size > 0) return bad;
  return {
    pageSize,
    pageToken,
    q: s.q.trim(),
    category: s.category,
    minPriceCents,
    maxPriceCents,
    sort: s.sort === "" ? ProductSort.UNSPECIFIED : sorts[s.sort],
  };
}

/** Products a page: the whole demo catalog fits on the first, a larger catalog gets "More". */
const pageSize = 24;

/** The search fields a refusal of ListProducts names (google.rpc.BadRequest), said for the shopper. */
function refusedFields(err: unknown, s: Search): Map<SearchField, string> | undefined {
  const e = ConnectError.from(err);
  if (e.code !== Code.InvalidArgument) return undefined;
  const out = new Map<SearchField, string>();
  for (const d of e.findDetails(BadRequestSchema)) {
    for (const v of d.fieldViolations) {
      // The catalog speaks of cents; the shopper typed an amount.
      if (v.field === "min_price_cents") out.set("min", "Enter 0 or more.");
      else if (v.field === "max_price_cents") {
        const [min, max] = [centsOf(s.min), centsOf(s.max)];
        out.set("max", min !== undefined && max !== undefined && max < min ? "Must not be below the min price." : "Enter 0 or more.");
      } else if (v.field === "q" || v.field === "category" || v.field === "sort") {
        out.set(v.field, `${v.description.charAt(0).toUpperCase()}${v.description.slice(1)}.`);
      }
    }
  }
  return out.size > 0 ? out : undefined;
}

/** What the catalog answered for one search (`href`), all pages so far. */
export interface Results {
  readonly href: string;
  readonly products: readonly Product[];
  /** Token of the next page; empty on the last. */
  readonly next: string;
}

/** Why the latest search has no results to show. */
export type Failure =
  /** Fields the catalog refused (or that could not be sent), by field, with what to fix. */
  | { readonly kind: "fields"; readonly fields: ReadonlyMap<SearchField, string> }
  /** Anything else: the catalog could not be reached or failed. `more` when it was the next page. */
  | { readonly kind: "failed"; readonly more: boolean };

export interface Listing {
  /** The latest answer; kept on the page while the next search is on its way. */
  readonly results: Results | undefined;
  readonly failure: Failure | undefined;
  /** A search or a next page is on its way. */
  readonly busy: "search" | "more" | undefined;
  /** Calls the catalog for `search` (again), replacing whatever is on its way. */
  load(search: Search): void;
  /** The next page of the results shown. */
  more(): void;
  /** Drops the call on its way: what it would answer is already out of date (the shopper is typing). */
  abort(): void;
  /** Calls the catalog for `search` unless its answer is shown or on its way (after an `abort`, say). */
  ensure(search: Search): void;
}

/**
 * The catalog's answers for `search`, called whenever it changes, at most one call in flight:
 * a new call, a keystroke (`abort`) or leaving the page aborts the one before, whose answer is
 * then never shown, so results cannot arrive out of order.
 */
export function useListing(search: Search): Listing {
  const [results, setResults] = useState<Results>();
  const [failure, setFailure] = useState<Failure>();
  const [busy, setBusy] = useState<"search" | "more">();
  const inFlight = useRef<AbortController | undefined>(undefined);
  /** The search whose answer is on the page or on its way; empty when a keystroke or a failure made it moot. */
  const current = useRef("");

  const abort = () => {
    if (!inFlight.current) return;
    inFlight.current.abort();
    inFlight.current = undefined;
    current.current = "";
    setBusy(undefined);
  };

  const call = (s: Search, after: Results | undefined) => {
    abort();
    current.current = hrefOf(s);
    const request = requestOf(s, after?.next ?? "");
    setFailure(undefined);
    if (request instanceof Map) {
      setFailure({ kind: "fields", fields: request });
      return;
    }
    const ac = new AbortController();
    inFlight.current = ac;
    setBusy(after ? "more" : "search");
    catalog
      .listProducts(request, { signal: ac.signal })
      .then(
        (page) => {
          if (ac.signal.aborted) return;
          setResults({ href: hrefOf(s), products: [...(after?.products ?? []), ...page.items], next: page.nextPageToken });
        },
        (err: unknown) => {
          if (ac.signal.aborted) return;
          const fields = after ? undefined : refusedFields(err, s);
          if (!fields) current.current = "";
          setFailure(fields ? { kind: "fields", fields } : { kind: "failed", more: after !== undefined });
        },
      )
      .finally(() => {
        // An aborted call has handed `busy` to the one that replaced it.
        if (inFlight.current !== ac) return;
        inFlight.current = undefined;
        setBusy(undefined);
      });
  };

  const href = hrefOf(search);
  const latest = useRef(search);
  latest.current = search;
  useEffect(() => {
    call(latest.current, undefined);
  }, [href]);
  useEffect(() => () => inFlight.current?.abort(), []);

  return {
    results,
    failure,
    busy,
    load: (s) => call(s, undefined),
    more: () => {
      if (results) call(latest.current, results);
    },
    abort,
    ensure: (s) => {
      if (current.current !== hrefOf(s)) call(s, undefined);
    },
  };
}
