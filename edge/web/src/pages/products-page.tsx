import type { Product } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { AddToCartButton } from "../add-to-cart.js";
import { LiveIndicator, Link, Loading, Page, Problem, StockBadge } from "../components.js";
import { Field } from "../form.js";
import { money } from "../format.js";
import { hrefOf, type Listing, type Results, type Search, type SearchField, searchOf, useListing } from "../product-search.js";
import { navigate, useLocation } from "../router.js";
import { useLiveStock } from "../stock.js";

/** How long typing pauses before the search goes out: one call per pause, not per keystroke. */
const debounceMs = 250;

/** Categories of every product listed so far, for the category filter (there is no call listing them). */
const seenCategories = new Set<string>();

/**
 * The catalog, searchable: the search is the URL (`/?q=…&sort=…&category=…&min=…&max=…`), so
 * back, forward and reload show it again. Typing searches as it goes, once the typing pauses.
 */
export function ProductsPage() {
  const { query } = useLocation();
  const search = searchOf(query);
  const href = hrefOf(search);
  const listing = useListing(search);
  const { results, failure } = listing;

  // The form: ahead of the URL while the shopper types, following it when the URL moves by
  // itself (back, forward, the Products link).
  const [draft, setDraft] = useState(search);
  const written = useRef(href);
  const shown = useRef(search);
  shown.current = search;
  useEffect(() => {
    if (href === written.current) return;
    written.current = href;
    setDraft(search);
  }, [href]);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);

  /** Puts `next` in the URL, which loads it; `typed` names the text field it came from. */
  const commit = (next: Search, typed?: SearchField) => {
    clearTimeout(timer.current);
    const to = hrefOf(next);
    if (to === hrefOf(shown.current)) {
      listing.ensure(next);
      return;
    }
    written.current = to;
    // Typing refines a search already in the URL: one history entry for it, not one per pause.
    const refining = typed !== undefined && shown.current[typed] !== "";
    navigate(to, { replace: refining });
  };
  const edit = (field: SearchField, value: string, typed: boolean) => {
    const next = { ...draft, [field]: value };
    setDraft(next);
    if (!typed) return commit(next);
    // What is on its way answers a query the shopper has already moved past.
    listing.abort();
    clearTimeout(timer.current);
    timer.current = setTimeout(() => commit(next, field), debounceMs);
  };

  for (const p of results?.products ?? []) for (const c of p.categories) seenCategories.add(c);
  const { levels, link } = useLiveStock(results?.products.map((p) => p.id) ?? []);
  const fieldErrors = failure?.kind === "fields" ? failure.fields : new Map<SearchField, string>();

  return (
    <Page title={search.q ? `Search: ${search.q}` : "Coffee and tea gear"} heading="Coffee and tea gear">
      <LiveIndicator link={link} what="Stock levels" />
      <SearchForm draft={draft} errors={fieldErrors} edit={edit} submit={() => commit(draft)} />
      {failure?.kind === "failed" && !failure.more ? (
        <Problem retry={() => listing.load(search)}>The products could not be loaded.</Problem>
      ) : !results && failure?.kind !== "fields" ? (
        <Loading what="products" />
      ) : (
        <ResultList listing={listing} results={results} search={search} href={href} levels={levels} />
      )}
    </Page>
  );
}

function SearchForm(props: {
  draft: Search;
  errors: ReadonlyMap<SearchField, string>;
  edit: (field: SearchField, value: string, typed: boolean) => void;
  submit: () => void;
}) {
  const { draft, errors, edit } = props;
  const categories = [...new Set([...seenCategories, ...(draft.category ? [draft.category] : [])])].sort();
  const text = (field: SearchField) => ({
    value: draft[field],
    error: errors.get(field),
    onInput: (e: Event) => edit(field, (e.currentTarget as HTMLInputElement).value, true),
  });
  const amount = (field: "min" | "max") => ({
    ...text(field),
    type: "number" as const,
    min: 0,
    step: "0.01",
    inputMode: "decimal" as const,
  });
  return (
    <search aria-label="Products">
      <form
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          props.submit();
        }}
      >
        <Field id="search-q" label="Search products" type="search" autoComplete="off" maxLength={200} class="search-q" {...text("q")} />
        <Choice id="search-sort" label="Sort by" value={draft.sort} error={errors.get("sort")} onChange={(v) => edit("sort", v, false)}>
          <option value="">{draft.q.trim() ? "Relevance" : "Name"}</option>
          <option value="price_asc">Price, low to high</option>
          <option value="price_desc">Price, high to low</option>
          {draft.q.trim() || draft.sort === "name" ? <option value="name">Name</option> : null}
        </Choice>
        <Choice
          id="search-category"
          label="Category"
          value={draft.category}
          error={errors.get("category")}
          onChange={(v) => edit("category", v, false)}
        >
          <option value="">All</option>
          {categories.map((c) => (
            <option key={c} value={c}>
              {c.charAt(0).toUpperCase() + c.slice(1)}
            </option>
          ))}
        </Choice>
        <Field id="search-min" label="Min price (€)" class="price-bound" {...amount("min")} />
        <Field id="search-max" label="Max price (€)" class="price-bound" {...amount("max")} />
        <button type="submit" class="button-secondary search-submit">
          Search
        </button>
      </form>
    </search>
  );
}

/** A labelled select with its error tied to it, like Field. */
function Choice(props: {
  id: string;
  label: string;
  value: string;
  error?: string | undefined;
  onChange: (value: string) => void;
  children: ComponentChildren;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        class="search-select"
        value={props.value}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? `${props.id}-error` : undefined}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        {props.children}
      </select>
      {props.error ? (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/** What a search found, said in words (announced as it changes). */
function summary(results: Results | undefined, search: Search, href: string, fieldsWrong: boolean): string {
  if (fieldsWrong) return "Check the marked fields.";
  if (!results || results.href !== href) return "Searching…";
  const filtered = search.category !== "" || search.min !== "" || search.max !== "";
  const what = search.q.trim() ? `“${search.q.trim()}”${filtered ? " with these filters" : ""}` : filtered ? "these filters" : "";
  const n = results.products.length;
  if (n === 0) return what ? `No products match ${what}.` : "No products yet.";
  const count = `${n}${results.next ? "+" : ""} ${n === 1 ? "product" : "products"}`;
  return what ? `${count} ${n === 1 && !results.next ? "matches" : "match"} ${what}.` : `${count}.`;
}

function ResultList(props: {
  listing: Listing;
  results: Results | undefined;
  search: Search;
  href: string;
  levels: ReadonlyMap<string, number>;
}) {
  const { listing, results, search, href } = props;
  const text = summary(results, search, href, listing.failure?.kind === "fields");
  const products = listing.failure?.kind === "fields" ? [] : (results?.products ?? []);
  return (
    <>
      <div class="results-status">
        <p role="status" aria-live="polite" aria-atomic="true" data-results={results?.href === href ? products.length : undefined}>
          {text}
        </p>
        {results?.href === href && products.length === 0 && href !== "/" ? <Link href="/">Clear the search</Link> : null}
      </div>
      <ul class="grid" aria-label="Products" aria-busy={listing.busy === "search" || undefined}>
        {products.map((p) => (
          <li key={p.id}>
            <ProductCard product={p} available={props.levels.get(p.id) ?? p.stock} />
          </li>
        ))}
      </ul>
      {results?.href === href && results.next && products.length > 0 ? (
        <button type="button" class="button-secondary more" disabled={listing.busy === "more"} onClick={listing.more}>
          {listing.busy === "more" ? "Loading…" : "More products"}
        </button>
      ) : null}
      {listing.failure?.kind === "failed" && listing.failure.more ? <Problem>More products could not be loaded.</Problem> : null}
    </>
  );
}

function ProductCard(props: { product: Product; available: number }) {
  const p = props.product;
  const href = `/products/${encodeURIComponent(p.id)}`;
  const stockId = `stock-${p.id}`;
  return (
    <article class="card" aria-labelledby={`name-${p.id}`}>
      <Link href={href} class="card-image" tabIndex={-1} aria-hidden="true">
        <img src={p.imageUrl} alt="" width={320} height={240} loading="lazy" />
      </Link>
      <h2 id={`name-${p.id}`}>
        <Link href={href}>{p.name}</Link>
      </h2>
      <p class="price">{money(p.priceCents, p.currency)}</p>
      <StockBadge available={props.available} id={stockId} />
      <AddToCartButton product={p} available={props.available} describedBy={stockId} />
    </article>
  );
}
