import { ConnectError } from "@connectrpc/connect";
import type { Product } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { useEffect, useRef, useState } from "preact/hooks";
import { Code, catalog } from "../api.js";
import { Link, Page } from "../components.js";
import { money, when } from "../format.js";
import { Field, Submit, TextAreaField } from "../form.js";
import { navigate } from "../router.js";
import { Answer, PagedTable } from "./paged-table.js";
import { fieldErrors, Refusal } from "./refusal.js";
import { stockPath } from "./stock-page.js";
import { useCall } from "./use-call.js";

const listPageSize = 20;
const historyPageSize = 10;
/** How long the search waits after the last key before it asks. */
const searchDelayMs = 250;

/** The console's product list with its search, category, archived ones or not, and page, as a path. */
export function productsPath(filters: { q?: string; category?: string; archived?: string; page?: string } = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const text = q.toString();
  return text ? `/admin/products?${text}` : "/admin/products";
}

/** A product's page in the console, optionally at a page of its price history. */
export function productPath(id: string, pricesPage?: string): string {
  const base = `/admin/products/${encodeURIComponent(id)}`;
  return pricesPage ? `${base}?prices=${encodeURIComponent(pricesPage)}` : base;
}

export const newProductPath = "/admin/new-product";

/**
 * `/admin/products?q=&category=&archived=1&page=`: the products on sale, or archived ones too
 * (ListProducts, `include_archived`), searched as the operator types, in one category or all, a
 * page at a time; each links to its page.
 */
export function ConsoleProductsPage(props: { query: URLSearchParams }) {
  const q = props.query.get("q") ?? "";
  const category = props.query.get("category") ?? "";
  const archived = props.query.get("archived") === "1" ? "1" : "";
  const pageToken = props.query.get("page") ?? "";
  const [products, reload] = useCall(
    () => catalog.listProducts({ q, category, includeArchived: archived === "1", pageSize: listPageSize, pageToken }),
    [q, category, archived, pageToken],
  );
  // The categories to filter by: those of the products on sale (a shop's few hundred).
  const [all] = useCall(() => catalog.listProducts({ pageSize: 100 }), []);
  const categories = [
    ...new Set([...(all.state === "done" ? all.value.items.flatMap((p) => p.categories) : []), ...(category ? [category] : [])]),
  ].sort();

  const typed = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(typed.current), []);
  const search = (text: string) => {
    clearTimeout(typed.current);
    typed.current = setTimeout(() => navigate(productsPath({ q: text.trim(), category, archived }), { replace: true }), searchDelayMs);
  };

  return (
    <Page title="Products">
      <div class="console-tools">
        <form class="form form-inline" aria-label="Find products" onSubmit={(e) => e.preventDefault()}>
          <Field
            id="product-search"
            name="q"
            label="Search"
            type="search"
            defaultValue={q}
            maxLength={200}
            onInput={(e) => search((e.currentTarget as HTMLInputElement).value)}
          />
          <div class="field">
            <label for="product-category">Category</label>
            <select
              id="product-category"
              name="category"
              value={category}
              onChange={(e) => navigate(productsPath({ q, category: (e.currentTarget as HTMLSelectElement).value, archived }))}
            >
              <option value="">Every category</option>
              {categories.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </div>
          <Field
            id="product-archived"
            name="archived"
            label="Archived too"
            type="checkbox"
            inline
            checked={archived === "1"}
            onChange={(e) => navigate(productsPath({ q, category, archived: (e.currentTarget as HTMLInputElement).checked ? "1" : "" }))}
          />
        </form>
        <Link href={newProductPath} class="button-link button-primary new-product">
          New product
        </Link>
      </div>
      <PagedTable
        page={products}
        reload={reload}
        pageToken={pageToken}
        pageHref={(page) => productsPath({ q, category, archived, page })}
        loading="the products"
        doing="listing the products"
        empty={q || category ? `No product${archived ? "" : " on sale"} matches.` : `No products${archived ? "" : " on sale"}.`}
        caption={`${archived ? "Products, archived ones too," : "Products on sale"}${q ? ` matching “${q}”, best match first` : " by name"}`}
        pagerLabel="Pages of products"
        columns={[
          { label: "Name" },
          { label: "Price", num: true },
          { label: "Categories" },
          { label: "Version", num: true },
          { label: "Archived" },
        ]}
        row={(p) => (
          <tr key={p.id} data-product-id={p.id}>
            <td>
              <Link href={productPath(p.id)}>{p.name}</Link> <code>{p.id}</code>
            </td>
            <td class="num">{money(p.priceCents, p.currency)}</td>
            <td>{p.categories.join(", ")}</td>
            <td class="num">{String(p.version)}</td>
            <td data-archived={String(p.archived)}>{p.archived ? "archived" : "no"}</td>
          </tr>
        )}
      />
    </Page>
  );
}

/** `/admin/new-product`: the editor for a new product; saved, it opens the product's page. */
export function ConsoleNewProductPage() {
  return (
    <Page title="New product">
      <ProductForm onSaved={(p) => navigate(productPath(p.id))} />
      <p>
        <Link href={productsPath()}>All products</Link>
      </p>
    </Page>
  );
}

/**
 * `/admin/products/<id>?prices=<token>`: one product: its editor (UpdateProduct at the version
 * read), its price history (ListPriceChanges) and Archive.
 */
export function ConsoleProductPage(props: { id: string; query: URLSearchParams }) {
  const pricesToken = props.query.get("prices") ?? "";
  const [product, reloadProduct] = useCall(() => catalog.getProduct({ id: props.id }), [props.id]);
  const [prices, reloadPrices] = useCall(
    () => catalog.listPriceChanges({ productId: props.id, pageSize: historyPageSize, pageToken: pricesToken }),
    [props.id, pricesToken],
  );
  const [saved, setSaved] = useState<string>();
  const p = product.state === "done" ? product.value.product : undefined;
  /** Reads the product and its prices again, saying `message` (what was just done) if any. */
  const refresh = (message?: string) => {
    setSaved(message);
    reloadProduct();
    reloadPrices();
  };

  return (
    <Page title={p ? p.name : `Product ${props.id}`}>
      <Answer of={product} retry={reloadProduct} loading="the product" doing={`looking up product ${props.id}`}>
        {({ product: p }) =>
          p ? (
            <>
              <dl class="facts">
                <dt>Id</dt>
                <dd>
                  <code>{p.id}</code>
                </dd>
                <dt>Version</dt>
                <dd data-version={String(p.version)}>{String(p.version)}</dd>
                <dt>On sale</dt>
                <dd data-archived={String(p.archived)}>{p.archived ? "No: archived" : "Yes"}</dd>
                <dt>Stock</dt>
                <dd>
                  <Link href={stockPath(p.id)}>{p.stock} available</Link>
                </dd>
              </dl>
              {saved ? (
                <p class="notice notice-info product-saved" role="status">
                  {saved}
                </p>
              ) : null}
              <section aria-labelledby="edit-heading">
                <h2 id="edit-heading">Edit</h2>
                {p.archived ? (
                  <p>An archived product keeps its fields as they were; it can no longer be changed.</p>
                ) : (
                  // A new version (saved here or reloaded after a conflict) starts the form again from it.
                  <ProductForm
                    key={String(p.version)}
                    product={p}
                    onSaved={(next) => refresh(`Saved as version ${next.version}.`)}
                    onReload={() => refresh()}
                  />
                )}
              </section>
            </>
          ) : null
        }
      </Answer>

      <section aria-labelledby="prices-heading">
        <h2 id="prices-heading">Price history</h2>
        <PagedTable
          page={prices}
          reload={reloadPrices}
          pageToken={pricesToken}
          pageHref={(page) => productPath(props.id, page)}
          loading="the price history"
          doing="listing the product's prices"
          empty="No price recorded: the product was added before its prices were kept, and its price has not changed since."
          caption="Prices, newest first"
          pagerLabel="Pages of the price history"
          class="price-history"
          columns={[
            { label: "When" },
            { label: "From", num: true },
            { label: "To", num: true },
            { label: "Version", num: true },
            { label: "By" },
          ]}
          row={(c) => (
            <tr key={c.id} data-price-change-id={c.id} data-new-price-cents={c.newPriceCents}>
              <td>{when(c.changedAt)}</td>
              <td class="num">{c.oldCurrency ? money(c.oldPriceCents, c.oldCurrency) : "created"}</td>
              <td class="num">{money(c.newPriceCents, c.currency)}</td>
              <td class="num">{String(c.version)}</td>
              <td>
                <code>{c.changedBy}</code>
              </td>
            </tr>
          )}
        />
      </section>

      {p && !p.archived ? (
        <section aria-labelledby="archive-heading">
          <h2 id="archive-heading">Archive</h2>
          <ArchiveForm product={p} onArchived={() => refresh("Archived: no longer listed, added to carts or ordered.")} />
        </section>
      ) : null}
      <p>
        <Link href={productsPath()}>All products</Link>
      </p>
    </Page>
  );
}

/** What a refused item of a list is called: `categories[1]` → "Category 2". */
const itemNames: Record<string, string> = { categories: "Category", image_urls: "Image URL" };

/** The form's field for each field a refusal names: `categories[2]` is the categories field's. */
const formFieldOf = (field: string): string => {
  const top = field.replace(/\[\d+\]$/, "");
  if (top === "price_cents") return "price";
  return ["id", "name", "description", "currency", "categories", "image_urls", "initial_stock"].includes(top) ? top : "form";
};

/** "12.90" → 1290; NaN for anything but an amount with at most two decimals. */
const centsOf = (text: string): number => (/^\d+(\.\d{1,2})?$/.test(text) ? Math.round(Number(text) * 100) : Number.NaN);

const listOf = (text: string, sep: RegExp) =>
  text
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s !== "");

/**
 * A product's fields, for CreateProduct (without `product`) or UpdateProduct at the version of
 * `product`. Refusals are shown at their fields; a stale version says so, with a reload.
 */
function ProductForm(props: { product?: Product; onSaved: (p: Product) => void; onReload?: () => void }) {
  const p = props.product;
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [refusal, setRefusal] = useState<unknown>();
  const [conflict, setConflict] = useState<string>();
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const form = useRef<HTMLFormElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    const priceCents = centsOf(text("price"));
    const fields = {
      name: text("name"),
      description: text("description"),
      priceCents,
      currency: text("currency").toUpperCase(),
      categories: listOf(text("categories"), /,/),
      imageUrls: listOf(text("image_urls"), /\n/),
    };
    const found = new Map<string, string>();
    if (!p && text("id") === "") found.set("id", "Enter an id, such as p-french-press.");
    if (fields.name === "") found.set("name", "Enter a name.");
    if (Number.isNaN(priceCents)) found.set("price", "Enter a price such as 12.90.");
    setErrors(found);
    setProblem(undefined);
    setRefusal(undefined);
    setConflict(undefined);
    if (found.size > 0) {
      form.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      return;
    }
    setBusy(true);
    try {
      const res = p
        ? await catalog.updateProduct({ id: p.id, expectedVersion: p.version, ...fields })
        : await catalog.createProduct({ id: text("id"), initialStock: Number(text("initial_stock") || "0"), ...fields });
      if (res.product) props.onSaved(res.product);
    } catch (err) {
      const ce = ConnectError.from(err);
      if (ce.code === Code.InvalidArgument) {
        const byField = new Map<string, string>();
        for (const [field, description] of fieldErrors(ce)) {
          const at = formFieldOf(field);
          // Several items of one list can be refused: each is said, by its place.
          const item = /^([a-z_]+)\[(\d+)\]$/.exec(field);
          const said = item ? `${itemNames[item[1] ?? ""] ?? "Item"} ${Number(item[2]) + 1}: ${description}` : description;
          byField.set(at, byField.has(at) ? `${byField.get(at)} ${said}` : said);
        }
        setErrors(byField);
        setProblem(byField.get("form") ?? (byField.size === 0 ? ce.rawMessage : "Please check the form."));
        form.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      } else if (ce.code === Code.FailedPrecondition && p) {
        setConflict(ce.rawMessage);
      } else if (ce.code === Code.AlreadyExists) {
        setErrors(new Map([["id", "A product (on sale or archived) has this id already. Choose another."]]));
        setProblem("Please check the form.");
      } else {
        setRefusal(err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {refusal !== undefined ? <Refusal err={refusal} what={p ? "saving the product" : "creating the product"} /> : null}
      {conflict !== undefined ? (
        <div class="notice notice-error conflict" role="alert" data-code="failed_precondition">
          <p>
            <strong>409 Conflict:</strong> someone changed this product since you opened it at version {String(p?.version)}, so your changes
            were not saved ({conflict}). Reload it to see the current version, then make your changes again.
          </p>
          {props.onReload ? (
            <button type="button" class="button-secondary" onClick={props.onReload}>
              Reload the product
            </button>
          ) : null}
        </div>
      ) : null}
      <form ref={form} class="form product-form" noValidate onSubmit={submit} aria-busy={busy}>
        {p ? null : (
          <Field
            id="id"
            name="id"
            label="Id"
            required
            maxLength={128}
            hint="Letters, digits, dots, dashes; it never changes."
            error={errors.get("id")}
          />
        )}
        <Field id="name" name="name" label="Name" required maxLength={200} defaultValue={p?.name} error={errors.get("name")} />
        <TextAreaField
          id="description"
          name="description"
          label="Description"
          rows={4}
          defaultValue={p?.description}
          error={errors.get("description")}
        />
        <Field
          id="price"
          name="price"
          label="Price"
          inputMode="decimal"
          required
          defaultValue={p ? (p.priceCents / 100).toFixed(2) : undefined}
          hint="In the currency below, e.g. 12.90."
          error={errors.get("price")}
        />
        <Field
          id="currency"
          name="currency"
          label="Currency"
          required
          maxLength={3}
          defaultValue={p?.currency ?? "EUR"}
          hint="ISO 4217 code, e.g. EUR."
          error={errors.get("currency")}
        />
        <Field
          id="categories"
          name="categories"
          label="Categories"
          defaultValue={p?.categories.join(", ")}
          hint="Lowercase slugs, separated by commas, e.g. coffee, kitchen."
          error={errors.get("categories")}
        />
        <TextAreaField
          id="image_urls"
          name="image_urls"
          label="Image URLs"
          rows={3}
          defaultValue={p?.imageUrls.join("\n")}
          hint="One per line, the main picture first: https:// or a path starting with /."
          error={errors.get("image_urls")}
        />
        {p ? null : (
          <Field
            id="initial_stock"
            name="initial_stock"
            label="Initial stock"
            type="number"
            inputMode="numeric"
            min={0}
            defaultValue="0"
            error={errors.get("initial_stock")}
          />
        )}
        <Submit busy={busy} problem={problem} label={p ? "Save changes" : "Create product"} busyLabel={p ? "Saving…" : "Creating…"} />
      </form>
    </>
  );
}

/** Archive, with a reason, after the operator confirms it: it takes the product off sale for good. */
function ArchiveForm(props: { product: Product; onArchived: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [reasonError, setReasonError] = useState<string>();
  const [refusal, setRefusal] = useState<unknown>();
  const form = useRef<HTMLFormElement>(null);

  const archive = async () => {
    if (busy) return;
    setRefusal(undefined);
    setReasonError(undefined);
    setBusy(true);
    try {
      await catalog.archiveProduct({
        id: props.product.id,
        expectedVersion: props.product.version,
        reason: String(new FormData(form.current ?? undefined).get("reason") ?? "").trim(),
      });
      props.onArchived();
    } catch (err) {
      const ce = ConnectError.from(err);
      const said = fieldErrors(ce).get("reason");
      if (said) setReasonError(said);
      else setRefusal(err);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <p>Archiving takes the product off sale for good: it is no longer listed, added to carts or ordered; orders keep it.</p>
      {refusal !== undefined ? <Refusal err={refusal} what="archiving the product" /> : null}
      <form
        ref={form}
        class="form"
        noValidate
        aria-busy={busy}
        onSubmit={(e) => {
          e.preventDefault();
          setConfirming(true);
        }}
      >
        <Field id="archive-reason" name="reason" label="Reason" maxLength={200} hint="Kept in the audit log." error={reasonError} />
        {confirming ? (
          <div class="notice notice-error archive-confirm" role="alertdialog" aria-labelledby="archive-confirm-text">
            <p id="archive-confirm-text">
              Archive <strong>{props.product.name}</strong>? This cannot be undone.
            </p>
            <button type="button" class="button-primary" aria-disabled={busy || undefined} onClick={() => void archive()}>
              {busy ? "Archiving…" : "Yes, archive it"}
            </button>{" "}
            <button type="button" class="button-secondary" onClick={() => setConfirming(false)}>
              Keep it on sale
            </button>
          </div>
        ) : (
          <button type="submit" class="button-secondary">
            Archive…
          </button>
        )}
      </form>
    </>
  );
}
