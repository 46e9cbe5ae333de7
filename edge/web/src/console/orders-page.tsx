import { type Order, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { useEffect, useState } from "preact/hooks";
import { orders } from "../api.js";
import { Link, Loading, Page } from "../components.js";
import { Field } from "../form.js";
import { money, when } from "../format.js";
import { statusName } from "../pages/order-status.js";
import { navigate } from "../router.js";
import { Refusal } from "./refusal.js";

const pageSize = 20;

/** The statuses an operator filters by, under the lowercase names REST uses. */
export const statusFilters: readonly (readonly [string, OrderStatus])[] = [
  ["pending", OrderStatus.PENDING],
  ["stock_reserved", OrderStatus.STOCK_RESERVED],
  ["paid", OrderStatus.PAID],
  ["on_hold", OrderStatus.ON_HOLD],
  ["partially_refunded", OrderStatus.PARTIALLY_REFUNDED],
  ["refunded", OrderStatus.REFUNDED],
  ["cancelled", OrderStatus.CANCELLED],
];

/** The console's list of orders with these filters (and page), as a path. */
export function ordersPath(filters: { status?: string; user?: string; email?: string; page?: string }): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const text = q.toString();
  return text ? `/admin?${text}` : "/admin";
}

/**
 * `/admin?status=paid&user=<user id>&email=<address>&page=<token>`: every shopper's orders (or
 * one shopper's, by user id or by the email they ordered with), oldest first, by status, a page
 * at a time (ListAllOrders).
 */
export function ConsoleOrdersPage(props: { query: URLSearchParams }) {
  const status = props.query.get("status") ?? "";
  const user = props.query.get("user") ?? "";
  const email = props.query.get("email") ?? "";
  const pageToken = props.query.get("page") ?? "";
  const filter = statusFilters.find(([name]) => name === status);
  const [result, setResult] = useState<{ items: Order[]; next: string } | { err: unknown }>();
  const [attempt, setAttempt] = useState(0);
  const [idError, setIdError] = useState<string>();
  const [emailError, setEmailError] = useState<string>();

  useEffect(() => {
    let cancelled = false;
    setResult(undefined);
    orders.listAllOrders({ pageSize, pageToken, statuses: filter ? [filter[1]] : [], userId: user, email }).then(
      (res) => !cancelled && setResult({ items: res.items, next: res.nextPageToken }),
      (err: unknown) => !cancelled && setResult({ err }),
    );
    return () => {
      cancelled = true;
    };
  }, [pageToken, filter?.[0], user, email, attempt]);

  const find = (e: Event) => {
    e.preventDefault();
    const id = String(new FormData(e.currentTarget as HTMLFormElement).get("order-id") ?? "").trim();
    if (id === "") {
      setIdError("Enter an order id.");
      return;
    }
    setIdError(undefined);
    navigate(`/admin/orders/${encodeURIComponent(id)}`);
  };

  const show = (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const byEmail = String(data.get("email") ?? "").trim();
    if (byEmail !== "" && !/^[^\s@]+@[^\s@]+$/.test(byEmail)) {
      setEmailError("Enter an email address like shopper@example.com.");
      return;
    }
    setEmailError(undefined);
    navigate(ordersPath({ status: String(data.get("status") ?? ""), user: String(data.get("user") ?? "").trim(), email: byEmail }));
  };

  return (
    <Page title="Orders">
      <div class="console-tools">
        <form class="form form-inline" aria-label="Find an order" noValidate onSubmit={find}>
          <Field id="order-id" name="order-id" label="Order id" required error={idError} spellcheck={false} autocomplete="off" />
          <button type="submit" class="button-primary">
            Find order
          </button>
        </form>
        <form class="form form-inline" aria-label="Filter orders" onSubmit={show}>
          <div class="field">
            <label for="status-filter">Status</label>
            <select id="status-filter" name="status" value={status}>
              <option value="">All statuses</option>
              {statusFilters.map(([name, s]) => (
                <option key={name} value={name}>
                  {statusName(s)}
                </option>
              ))}
            </select>
          </div>
          <Field id="user-filter" name="user" label="Shopper (user id)" defaultValue={user} spellcheck={false} autocomplete="off" />
          <Field
            id="email-filter"
            name="email"
            label="Shopper's email"
            type="email"
            defaultValue={email}
            spellcheck={false}
            autocomplete="off"
            error={emailError}
          />
          <button type="submit" class="button-secondary">
            Show
          </button>
        </form>
      </div>
      {result === undefined ? (
        <Loading what="orders" />
      ) : "err" in result ? (
        <Refusal err={result.err} what="listing the orders" retry={() => setAttempt((n) => n + 1)} />
      ) : (
        <OrdersTable items={result.items} status={status} user={user} email={email} next={result.next} paged={pageToken !== ""} />
      )}
    </Page>
  );
}

function OrdersTable(props: { items: Order[]; status: string; user: string; email: string; next: string; paged: boolean }) {
  const filters = { status: props.status, user: props.user, email: props.email };
  return (
    <>
      {props.items.length === 0 ? (
        <p class="empty">No orders{props.status || props.user || props.email ? " match" : ""}.</p>
      ) : (
        <div class="table-wrap">
          <table class="console-table">
            <caption>
              Orders{props.status ? `: ${props.status.replaceAll("_", " ")}` : ""}
              {props.user ? ` of shopper ${props.user}` : ""}
              {props.email ? ` placed with ${props.email}` : ""}, oldest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Status</th>
                <th scope="col">Items</th>
                <th scope="col" class="num">
                  Total
                </th>
                <th scope="col" class="num">
                  Refunded
                </th>
                <th scope="col">Last change</th>
              </tr>
            </thead>
            <tbody>
              {props.items.map((o) => (
                <tr key={o.id} data-order-id={o.id}>
                  <td>
                    <Link href={`/admin/orders/${encodeURIComponent(o.id)}`}>
                      <code>{o.id}</code>
                    </Link>
                  </td>
                  <td data-status={statusName(o.status)}>{statusName(o.status)}</td>
                  <td>{o.items.reduce((n, i) => n + i.quantity, 0)}</td>
                  <td class="num">{money(o.totalCents, o.currency)}</td>
                  <td class="num">{o.refundedCents > 0 ? money(o.refundedCents, o.currency) : "–"}</td>
                  <td>{when(o.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages of orders">
        {props.paged ? <Link href={ordersPath(filters)}>First page</Link> : null}
        {props.next ? <Link href={ordersPath({ ...filters, page: props.next })}>Next page</Link> : null}
      </nav>
    </>
  );
}
