import { ConnectError } from "@connectrpc/connect";
import { useRef, useState } from "preact/hooks";
import { Code, catalog } from "../api.js";
import { Link, Page } from "../components.js";
import { when } from "../format.js";
import { Field, Submit } from "../form.js";
import { Answer, PagedTable } from "./paged-table.js";
import { fieldErrors, Refusal } from "./refusal.js";
import { useCall } from "./use-call.js";

const booksPageSize = 50;
const ledgerPageSize = 20;

/** The console's stock books (or one product's page), as a path. */
export function stockPath(productId?: string, page?: string): string {
  const base = productId ? `/admin/stock/${encodeURIComponent(productId)}` : "/admin/stock";
  return page ? `${base}?page=${encodeURIComponent(page)}` : base;
}

/** `/admin/stock?page=<token>`: every product's stock books, by product id, a page at a time (ListStockBooks). */
export function ConsoleStockPage(props: { query: URLSearchParams }) {
  const pageToken = props.query.get("page") ?? "";
  const [books, reload] = useCall(() => catalog.listStockBooks({ pageSize: booksPageSize, pageToken }), [pageToken]);
  return (
    <Page title="Stock">
      <p>
        On hand counts every unit received; reserved counts the units held by orders in checkout and sold. Available is what shoppers can
        buy.
      </p>
      <PagedTable
        page={books}
        reload={reload}
        pageToken={pageToken}
        pageHref={(page) => stockPath(undefined, page)}
        loading="the stock books"
        doing="listing the stock books"
        empty="No products."
        caption="Stock books, by product id"
        pagerLabel="Pages of stock books"
        columns={[
          { label: "Product" },
          { label: "On hand", num: true },
          { label: "Reserved", num: true },
          { label: "Available", num: true },
          { label: "Adjusted in all", num: true },
          { label: "Books" },
        ]}
        row={(b) => (
          <tr key={b.productId} data-product-id={b.productId}>
            <td>
              <Link href={stockPath(b.productId)}>
                <code>{b.productId}</code>
              </Link>
            </td>
            <td class="num">{b.onHand}</td>
            <td class="num">{b.reserved}</td>
            <td class="num" data-available={b.onHand - b.reserved}>
              {b.onHand - b.reserved}
            </td>
            <td class="num">{b.adjusted}</td>
            <td>{b.reserved === b.reservedByReservations ? "consistent" : `reservations hold ${b.reservedByReservations}`}</td>
          </tr>
        )}
      />
    </Page>
  );
}

/** `/admin/stock/<product id>`: one product's level, its ledger of adjustments (ListStockAdjustments), and the Adjust action. */
export function ConsoleProductStockPage(props: { productId: string; query: URLSearchParams }) {
  const pageToken = props.query.get("page") ?? "";
  const [product, reloadProduct] = useCall(() => catalog.getProduct({ id: props.productId }), [props.productId]);
  const [ledger, reloadLedger] = useCall(
    () => catalog.listStockAdjustments({ productId: props.productId, pageSize: ledgerPageSize, pageToken }),
    [props.productId, pageToken],
  );
  const [available, setAvailable] = useState<number>();

  return (
    <Page title={`Stock of ${props.productId}`}>
      <Answer of={product} retry={reloadProduct} loading="the product" doing={`looking up product ${props.productId}`}>
        {({ product: p }) => (
          <dl class="facts">
            <dt>Product</dt>
            <dd>
              {p?.name} <code>{props.productId}</code>
            </dd>
            <dt>Available now</dt>
            <dd>
              <span class="stock-level" data-available={available ?? p?.stock} role="status" aria-live="polite">
                {available ?? p?.stock} units
              </span>
            </dd>
          </dl>
        )}
      </Answer>

      <section aria-labelledby="adjust-heading">
        <h2 id="adjust-heading">Adjust the stock on hand</h2>
        <AdjustForm
          productId={props.productId}
          onAdjusted={(n) => {
            setAvailable(n);
            reloadLedger();
          }}
        />
      </section>

      <section aria-labelledby="ledger-heading">
        <h2 id="ledger-heading">Ledger</h2>
        <PagedTable
          page={ledger}
          reload={reloadLedger}
          pageToken={pageToken}
          pageHref={(page) => stockPath(props.productId, page)}
          loading="the ledger"
          doing="listing the product's stock adjustments"
          empty="No adjustments."
          caption="Adjustments, newest first"
          pagerLabel="Pages of the ledger"
          columns={[{ label: "When" }, { label: "Change", num: true }, { label: "On hand after", num: true }, { label: "Reason" }]}
          row={(a) => (
            <tr key={a.id} data-adjustment-id={a.id}>
              <td>{when(a.createdAt)}</td>
              <td class="num">{a.delta > 0 ? `+${a.delta}` : a.delta}</td>
              <td class="num">{a.onHandAfter}</td>
              <td>{a.reason}</td>
            </tr>
          )}
        />
      </section>
      <p>
        <Link href={stockPath()}>All stock books</Link>
      </p>
    </Page>
  );
}

/** A signed change of the stock on hand with its reason, both required; refusals are shown at their fields. */
function AdjustForm(props: { productId: string; onAdjusted: (available: number) => void }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [refusal, setRefusal] = useState<unknown>();
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [done, setDone] = useState<string>();
  const form = useRef<HTMLFormElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const rawDelta = String(data.get("delta") ?? "").trim();
    const delta = Number(rawDelta);
    const reason = String(data.get("reason") ?? "").trim();
    const found = new Map<string, string>();
    if (rawDelta === "" || !Number.isInteger(delta) || delta === 0)
      found.set("delta", "Enter a whole number of units, not zero: positive when received, negative when lost.");
    if (reason === "") found.set("reason", "Enter why the stock changes.");
    else if (reason.length > 200) found.set("reason", "Use at most 200 characters.");
    setErrors(found);
    setProblem(undefined);
    setRefusal(undefined);
    setDone(undefined);
    if (found.size > 0) {
      form.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      return;
    }
    setBusy(true);
    try {
      const res = await catalog.adjustStock({ productId: props.productId, delta, reason });
      form.current?.reset();
      setDone(`Adjusted by ${delta > 0 ? `+${delta}` : delta}: ${res.level?.available ?? 0} units available.`);
      props.onAdjusted(res.level?.available ?? 0);
    } catch (err) {
      const ce = ConnectError.from(err);
      if (ce.code === Code.InvalidArgument) {
        const byField = new Map<string, string>();
        for (const [field, description] of fieldErrors(ce))
          byField.set(field === "delta" || field === "reason" ? field : "form", description);
        setErrors(byField);
        setProblem(byField.get("form") ?? (byField.size === 0 ? ce.rawMessage : "Please check the form."));
      } else if (ce.code === Code.FailedPrecondition) {
        setErrors(new Map([["delta", `Not possible: ${ce.rawMessage}.`]]));
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
      {refusal !== undefined ? <Refusal err={refusal} what="adjusting the stock" /> : null}
      {done ? (
        <p class="notice notice-info adjust-outcome" role="status">
          {done}
        </p>
      ) : null}
      <form ref={form} class="form" noValidate onSubmit={submit} aria-busy={busy}>
        <Field
          id="delta"
          name="delta"
          label="Change in units"
          type="number"
          inputMode="numeric"
          required
          hint="Positive for goods received, negative for damage or a recount."
          error={errors.get("delta")}
        />
        <Field
          id="reason"
          name="reason"
          label="Reason"
          required
          maxLength={200}
          hint="Kept in the ledger and the audit log, 200 characters at most."
          error={errors.get("reason")}
        />
        <Submit busy={busy} problem={problem} label="Adjust stock" busyLabel="Adjusting…" />
      </form>
    </>
  );
}
