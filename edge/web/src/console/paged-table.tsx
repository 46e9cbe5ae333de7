import type { ComponentChildren, JSX } from "preact";
import { Link, Loading } from "../components.js";
import { Refusal } from "./refusal.js";
import type { Loaded } from "./use-call.js";

/**
 * What a page shows of a call: a loading line, the refusal (with a retry), or `children` with its
 * answer.
 */
export function Answer<T>(props: {
  of: Loaded<T>;
  retry: () => void;
  /** What is read, for the loading line: "the product". */
  loading: string;
  /** What the call does, for a refusal: "looking up product p-kettle". */
  doing: string;
  children: (value: T) => JSX.Element | null;
}) {
  const { of } = props;
  if (of.state === "loading") return <Loading what={props.loading} />;
  if (of.state === "failed") return <Refusal err={of.err} what={props.doing} retry={props.retry} />;
  return props.children(of.value);
}

/** A column of a {@link PagedTable}: its heading, right-aligned for numbers. */
export interface Column {
  readonly label: string;
  readonly num?: boolean;
}

/**
 * One page of a keyset listing as a table: loading, refused (with a retry), empty, or its rows,
 * then links to the first page (when not on it) and the next (when one follows). `row` renders
 * one `<tr>`; `pageHref` is the path of the page a token starts ("" for the first).
 */
export function PagedTable<T>(props: {
  page: Loaded<{ readonly items: readonly T[]; readonly nextPageToken: string }>;
  reload: () => void;
  /** The current page's token, "" on the first page. */
  pageToken: string;
  pageHref: (token: string) => string;
  /** What is listed, for the loading line: "the stock books". */
  loading: string;
  /** What the call does, for a refusal: "listing the stock books". */
  doing: string;
  empty: ComponentChildren;
  caption: ComponentChildren;
  /** The pager's accessible name: "Pages of stock books". */
  pagerLabel: string;
  columns: readonly Column[];
  row: (item: T) => JSX.Element;
  class?: string;
}) {
  return (
    <Answer of={props.page} retry={props.reload} loading={props.loading} doing={props.doing}>
      {(page) => (
        <>
          {page.items.length === 0 ? (
            <p class="empty">{props.empty}</p>
          ) : (
            <div class="table-wrap">
              <table class={props.class ? `console-table ${props.class}` : "console-table"}>
                <caption>{props.caption}</caption>
                <thead>
                  <tr>
                    {props.columns.map((c) => (
                      <th key={c.label} scope="col" class={c.num ? "num" : undefined}>
                        {c.label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>{page.items.map(props.row)}</tbody>
              </table>
            </div>
          )}
          <nav class="pager" aria-label={props.pagerLabel}>
            {props.pageToken ? <Link href={props.pageHref("")}>First page</Link> : null}
            {page.nextPageToken ? <Link href={props.pageHref(page.nextPageToken)}>Next page</Link> : null}
          </nav>
        </>
      )}
    </Answer>
  );
}
