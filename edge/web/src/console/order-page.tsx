import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { DeliveryStatus, NotificationKind } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import { type Order, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { Code, notifications, orders } from "../api.js";
import { Link, Loading, Page } from "../components.js";
import { Field, Submit } from "../form.js";
import { money, when } from "../format.js";
import { cancelText, statusName } from "../pages/order-status.js";
import { ordersPath } from "./orders-page.js";
import { fieldErrors, Refusal } from "./refusal.js";
import { useCall } from "./use-call.js";

/** Units of each product refunded so far (or being refunded). */
function refundedUnits(order: Order): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of order.refunds) for (const l of r.lines) out.set(l.productId, (out.get(l.productId) ?? 0) + l.quantity);
  return out;
}

/** Statuses an operator may cancel in: checkout is not over and nothing was paid for the order. */
const cancellable = new Set([OrderStatus.PENDING, OrderStatus.STOCK_RESERVED, OrderStatus.ON_HOLD]);

/**
 * `/admin/orders/<id>`: one order of any shopper (GetAnyOrder) with its timeline, items, payment,
 * refunds and notifications, and the Refund or Cancel action.
 */
export function ConsoleOrderPage(props: { id: string }) {
  const [order, setOrder] = useState<Order>();
  const [err, setErr] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  const [outcome, setOutcome] = useState<Outcome>();

  const load = useCallback(async () => {
    const { order } = await orders.getAnyOrder({ orderId: props.id });
    if (order) setOrder(order);
    return order;
  }, [props.id]);

  // Until the payment provider has refunded, look again every second (the order moves on PaymentRefunded).
  useEffect(() => {
    if (!outcome || outcome.completed) return undefined;
    const t = setInterval(() => {
      load().then(
        (o) => {
          const r = o?.refunds.find((x) => x.id === outcome.refundId);
          if (r?.completed) setOutcome({ ...outcome, completed: true });
        },
        () => undefined,
      );
    }, 1_000);
    return () => clearInterval(t);
  }, [outcome, load]);

  useEffect(() => {
    setErr(undefined);
    setOrder(undefined);
    load().catch(setErr);
  }, [load, attempt]);

  if (!order) {
    return (
      <Page title={`Order ${props.id}`}>
        {err !== undefined ? (
          <Refusal err={err} what={`looking up order ${props.id}`} retry={() => setAttempt((n) => n + 1)} />
        ) : (
          <Loading what="the order" />
        )}
        <p>
          <Link href="/admin">All orders</Link>
        </p>
      </Page>
    );
  }
  const units = refundedUnits(order);
  const canCancel = cancellable.has(order.status);
  const refundable = order.status === OrderStatus.PAID || order.status === OrderStatus.PARTIALLY_REFUNDED;
  return (
    <Page title={`Order ${order.id}`} heading={`Order ${order.id.slice(0, 8)}`}>
      <p class="status-now" role="status" aria-live="polite" aria-atomic="true">
        Status: <strong data-status={statusName(order.status)}>{statusName(order.status)}</strong>
        {order.status === OrderStatus.CANCELLED ? ` (${cancelText(order.cancelReason)})` : ""}
        {order.status === OrderStatus.ON_HOLD && order.holdReason ? ` (${order.holdReason})` : ""}
      </p>
      <dl class="facts">
        <dt>Order id</dt>
        <dd>
          <code>{order.id}</code>
        </dd>
        <dt>Shopper (user id)</dt>
        <dd>
          <code>{order.userId}</code> (<Link href={ordersPath({ user: order.userId })}>their orders</Link>)
        </dd>
        <dt>Placed</dt>
        <dd>{when(order.createdAt)}</dd>
      </dl>

      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        <ol class="console-timeline">
          {order.history.map((h, i) => (
            <li key={`${i}-${h.at?.seconds ?? 0}`}>
              <span class="step-name">
                {h.fromStatus === OrderStatus.UNSPECIFIED ? "" : `${statusName(h.fromStatus)} → `}
                {statusName(h.toStatus)}
              </span>{" "}
              {h.at ? <time dateTime={timestampDate(h.at).toISOString()}>{when(h.at)}</time> : null}
              {h.reason ? <span class="step-reason"> ({h.reason.replaceAll("_", " ")})</span> : null}
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="items-heading">
        <h2 id="items-heading">Items</h2>
        <div class="table-wrap">
          <table class="console-table">
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" class="num">
                  Units
                </th>
                <th scope="col" class="num">
                  Unit price
                </th>
                <th scope="col" class="num">
                  Line total
                </th>
                <th scope="col" class="num">
                  Units refunded
                </th>
              </tr>
            </thead>
            <tbody>
              {order.items.map((i) => (
                <tr key={i.productId}>
                  <td>
                    {i.name} <code>{i.productId}</code>
                  </td>
                  <td class="num">{i.quantity}</td>
                  <td class="num">{money(i.unitPriceCents, order.currency)}</td>
                  <td class="num">{money(i.lineTotalCents, order.currency)}</td>
                  <td class="num">{units.get(i.productId) ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="payment-heading">
        <h2 id="payment-heading">Payment</h2>
        <dl class="facts">
          <dt>Payment id</dt>
          <dd>{order.paymentId ? <code>{order.paymentId}</code> : "none yet"}</dd>
          <dt>Total</dt>
          <dd class="num">{money(order.totalCents, order.currency)}</dd>
          <dt>Refunded</dt>
          <dd class="num" data-refunded-cents={order.refundedCents}>
            {money(order.refundedCents, order.currency)}
          </dd>
        </dl>
      </section>

      <section aria-labelledby="refunds-heading">
        <h2 id="refunds-heading">Refunds</h2>
        {order.refunds.length === 0 ? (
          <p>No refunds.</p>
        ) : (
          <ul class="refunds">
            {order.refunds.map((r) => (
              <li key={r.id} data-refund-id={r.id} data-completed={String(r.completed)}>
                <strong>{money(r.amountCents, order.currency)}</strong>, {r.completed ? `refunded ${when(r.refundedAt)}` : "on its way"}:{" "}
                {r.lines
                  .map((l) => `${l.quantity} × ${order.items.find((i) => i.productId === l.productId)?.name ?? l.productId}`)
                  .join(", ")}
                {r.restock ? "; stock returned" : "; stock kept"}. Reason: {r.reason}
              </li>
            ))}
          </ul>
        )}
      </section>

      <OrderNotifications orderId={order.id} status={order.status} />

      {canCancel ? (
        <section aria-labelledby="cancel-heading">
          <h2 id="cancel-heading">Cancel</h2>
          <p>Cancelling releases the order's stock and emails the shopper; a payment that arrives later is refunded.</p>
          <CancelForm order={order} onCancelled={setOrder} />
        </section>
      ) : null}

      {refundable || outcome ? (
        <section aria-labelledby="refund-heading">
          <h2 id="refund-heading">Refund</h2>
          {outcome ? (
            <div class="notice notice-info refund-outcome" role="status" data-completed={String(outcome.completed)}>
              <p>
                {outcome.completed
                  ? `Refunded ${money(outcome.amountCents, order.currency)}: the payment provider has paid it back.`
                  : `Refund of ${money(outcome.amountCents, order.currency)} requested; waiting for the payment provider.`}
              </p>
            </div>
          ) : null}
          {refundable ? (
            <RefundForm
              order={order}
              refunded={units}
              onRequested={(o, requested) => {
                setOrder(o);
                setOutcome(requested);
              }}
            />
          ) : (
            <p>Nothing is left to refund.</p>
          )}
        </section>
      ) : null}
      <p>
        <Link href="/admin">All orders</Link>
      </p>
    </Page>
  );
}

/** An idempotency key for one refund the operator is filling in: a retried submit refunds once. */
function newRefundId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

type Outcome = { readonly refundId: string; readonly amountCents: number; readonly completed: boolean };

/** Refund the whole order, or chosen units of its lines; with or without restocking; a reason is required. */
function RefundForm(props: { order: Order; refunded: Map<string, number>; onRequested: (o: Order, outcome: Outcome) => void }) {
  const { order } = props;
  const [scope, setScope] = useState<"whole" | "lines">("whole");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [refusal, setRefusal] = useState<unknown>();
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const refundId = useRef(newRefundId());
  const form = useRef<HTMLFormElement>(null);
  const lines = order.items.map((i) => ({ item: i, left: i.quantity - (props.refunded.get(i.productId) ?? 0) })).filter((l) => l.left > 0);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const reason = String(data.get("reason") ?? "").trim();
    const restock = data.get("restock") === "on";
    const found = new Map<string, string>();
    const chosen: { productId: string; quantity: number; index: number }[] = [];
    if (scope === "lines") {
      lines.forEach((l, index) => {
        const raw = String(data.get(`qty-${index}`) ?? "0").trim();
        const n = Number(raw === "" ? "0" : raw);
        if (!Number.isInteger(n) || n < 0 || n > l.left) found.set(`qty-${index}`, `Enter a whole number from 0 to ${l.left}.`);
        else if (n > 0) chosen.push({ productId: l.item.productId, quantity: n, index });
      });
      if (found.size === 0 && chosen.length === 0) found.set("qty-0", "Choose at least one unit to refund.");
    }
    if (reason === "") found.set("reason", "Enter why the order is refunded.");
    else if (reason.length > 200) found.set("reason", "Use at most 200 characters.");
    setErrors(found);
    setProblem(undefined);
    setRefusal(undefined);
    if (found.size > 0) {
      form.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      return;
    }
    setBusy(true);
    try {
      const res = await orders.refundOrder({
        orderId: order.id,
        lines: chosen.map(({ productId, quantity }) => ({ productId, quantity })),
        restock,
        reason,
        refundId: refundId.current,
      });
      const r = res.order?.refunds.find((x) => x.id === refundId.current);
      const requested = { refundId: refundId.current, amountCents: r?.amountCents ?? 0, completed: r?.completed ?? false };
      refundId.current = newRefundId();
      form.current?.reset();
      setScope("whole");
      if (res.order) props.onRequested(res.order, requested);
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.InvalidArgument) {
        const byField = new Map<string, string>();
        for (const [field, description] of fieldErrors(e)) {
          const m = /^lines\[(\d+)\]/.exec(field);
          const line = m ? chosen[Number(m[1])] : undefined;
          if (line) byField.set(`qty-${line.index}`, description);
          else if (field === "reason") byField.set("reason", description);
          else byField.set("form", `${field}: ${description}`);
        }
        setErrors(byField);
        setProblem(byField.get("form") ?? (byField.size === 0 ? e.rawMessage : "Please check the form."));
      } else if (e.code === Code.FailedPrecondition) {
        setProblem(`The order cannot be refunded now: ${e.rawMessage}.`);
      } else {
        setRefusal(err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {refusal !== undefined ? <Refusal err={refusal} what="refunding" /> : null}
      <form ref={form} class="form" noValidate onSubmit={submit} aria-busy={busy}>
        <fieldset>
          <legend>What to refund</legend>
          <label class="choice">
            <input type="radio" name="scope" value="whole" checked={scope === "whole"} onChange={() => setScope("whole")} /> The whole order
            (everything not refunded yet)
          </label>
          <label class="choice">
            <input type="radio" name="scope" value="lines" checked={scope === "lines"} onChange={() => setScope("lines")} /> Chosen lines
          </label>
          {scope === "lines"
            ? lines.map((l, index) => (
                <Field
                  key={l.item.productId}
                  id={`qty-${index}`}
                  name={`qty-${index}`}
                  label={`Units of ${l.item.name} to refund (up to ${l.left})`}
                  type="number"
                  inputMode="numeric"
                  min={0}
                  max={l.left}
                  defaultValue="0"
                  error={errors.get(`qty-${index}`)}
                />
              ))
            : null}
        </fieldset>
        <label class="choice">
          <input type="checkbox" name="restock" /> The goods came back: put their stock back on sale
        </label>
        <Field
          id="reason"
          name="reason"
          label="Reason"
          required
          maxLength={200}
          hint="Kept with the refund, 200 characters at most."
          error={errors.get("reason")}
        />
        <Submit busy={busy} problem={problem} label="Refund" busyLabel="Refunding…" />
      </form>
    </>
  );
}

const kindText: Record<NotificationKind, string> = {
  [NotificationKind.UNSPECIFIED]: "Other",
  [NotificationKind.WELCOME]: "Welcome",
  [NotificationKind.ORDER_PAID]: "Order paid",
  [NotificationKind.ORDER_CANCELLED]: "Order cancelled",
  [NotificationKind.ORDER_REFUNDED]: "Order refunded",
};

const deliveryText: Record<DeliveryStatus, string> = {
  [DeliveryStatus.UNSPECIFIED]: "unknown",
  [DeliveryStatus.PENDING]: "waiting to be sent",
  [DeliveryStatus.SENT]: "sent",
  [DeliveryStatus.CAPTURED]: "recorded (no mail transport)",
  [DeliveryStatus.FAILED]: "failed",
};

/** Notifications follow their events: the page looks again this often while it is open. */
const notificationsEveryMs = 5_000;

/** The notifications about the order (ListOrderNotifications), looked up again every few seconds and when its status changes. */
function OrderNotifications(props: { orderId: string; status: OrderStatus }) {
  const [list, reload] = useCall(
    () => notifications.listOrderNotifications({ orderId: props.orderId }),
    [props.orderId, props.status],
    notificationsEveryMs,
  );
  return (
    <section aria-labelledby="notifications-heading">
      <h2 id="notifications-heading">Notifications</h2>
      {list.state === "loading" ? (
        <Loading what="the notifications" />
      ) : list.state === "failed" ? (
        <Refusal err={list.err} what="listing the order's notifications" retry={reload} />
      ) : list.value.items.length === 0 ? (
        <p>No notifications yet.</p>
      ) : (
        <ul class="notifications">
          {list.value.items.map((n) => (
            <li key={n.id} data-notification-kind={kindText[n.kind]}>
              <strong>{kindText[n.kind] ?? "Other"}</strong> to {n.recipient}, {when(n.createdAt)}: “{n.subject}”,{" "}
              {deliveryText[n.status] ?? "unknown"}
              {n.failureReason ? ` (${n.failureReason})` : ""}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Cancels an order that is not paid; a reason is required (audited). */
function CancelForm(props: { order: Order; onCancelled: (o: Order) => void }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [refusal, setRefusal] = useState<unknown>();
  const [reasonError, setReasonError] = useState<string>();
  const form = useRef<HTMLFormElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const reason = String(new FormData(e.currentTarget as HTMLFormElement).get("reason") ?? "").trim();
    setProblem(undefined);
    setRefusal(undefined);
    const invalid = reason === "" ? "Enter why the order is cancelled." : reason.length > 200 ? "Use at most 200 characters." : undefined;
    setReasonError(invalid);
    if (invalid) {
      form.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      return;
    }
    setBusy(true);
    try {
      const res = await orders.cancelOrder({ orderId: props.order.id, reason });
      if (res.order) props.onCancelled(res.order);
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.InvalidArgument) {
        const byField = fieldErrors(e);
        setReasonError(byField.get("reason"));
        setProblem(byField.has("reason") ? "Please check the form." : e.rawMessage);
      } else if (e.code === Code.FailedPrecondition) {
        setProblem(`The order cannot be cancelled now: ${e.rawMessage}.`);
      } else {
        setRefusal(err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {refusal !== undefined ? <Refusal err={refusal} what="cancelling" /> : null}
      <form ref={form} class="form" noValidate onSubmit={submit} aria-busy={busy}>
        <Field
          id="cancel-reason"
          name="reason"
          label="Reason for cancelling"
          required
          maxLength={200}
          hint="Kept in the audit log, 200 characters at most."
          error={reasonError}
        />
        <Submit busy={busy} problem={problem} label="Cancel order" busyLabel="Cancelling…" />
      </form>
    </>
  );
}
