import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Order, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { Code, codeOf, orders } from "../api.js";
import { Lines, LiveIndicator, Link, Loading, Page, Problem } from "../components.js";
import { clock, money } from "../format.js";
import { keepLive, type LinkState } from "../live.js";
import { NotFoundPage } from "./not-found-page.js";
import { applyUpdate, cancelText, isClosed, isFinal, statusName } from "./order-status.js";

/**
 * The order and its status timeline, moving live along the checkout saga and on through refunds
 * (OrderService.StreamOrders with `follow_refunds`) until it is cancelled or refunded in full.
 */
export function OrderPage(props: { id: string }) {
  const [order, setOrder] = useState<Order>();
  const [problem, setProblem] = useState<"missing" | "failed">();
  const [link, setLink] = useState<LinkState>();
  const latest = useRef<Order | undefined>(undefined);
  latest.current = order;

  const load = useCallback(async () => {
    const { order } = await orders.getOrder({ id: props.id });
    if (order) setOrder(order);
    return order;
  }, [props.id]);

  useEffect(() => {
    let stop: (() => void) | undefined;
    let cancelled = false;
    setProblem(undefined);
    load().then(
      (first) => {
        if (cancelled || !first || isClosed(first.status)) return;
        let reconnecting = false;
        stop = keepLive({
          async *open(signal) {
            // Back after a drop: fetch the history, the stream sends only the latest transition.
            if (reconnecting) await load();
            reconnecting = true;
            if (latest.current && isClosed(latest.current.status)) return;
            yield* orders.streamOrders({ orderIds: [props.id], followRefunds: true }, { signal });
          },
          onMessage: ({ update }) => {
            if (!update) return;
            setOrder((o) => (o ? applyUpdate(o, update) : o));
            // A refund: the amount refunded comes with the order, not with the update.
            if (update.status === OrderStatus.PARTIALLY_REFUNDED || update.status === OrderStatus.REFUNDED)
              void load().catch(() => undefined);
          },
          onState: setLink,
          complete: () => latest.current !== undefined && isClosed(latest.current.status),
          onFatal: (err) => {
            if (err.code !== Code.Unauthenticated) setProblem("failed");
          },
        });
      },
      (err: unknown) => {
        if (!cancelled) setProblem(codeOf(err) === Code.NotFound ? "missing" : "failed");
      },
    );
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [load, props.id]);

  if (problem === "missing") return <NotFoundPage what="order" />;
  if (!order) {
    return (
      <Page title="Your order">
        {problem ? (
          <Problem retry={() => void load().catch(() => undefined)}>The order could not be loaded.</Problem>
        ) : (
          <Loading what="your order" />
        )}
      </Page>
    );
  }
  const final = isFinal(order.status);
  const cancelled = order.status === OrderStatus.CANCELLED;
  const refunded = order.status === OrderStatus.REFUNDED || order.status === OrderStatus.PARTIALLY_REFUNDED;
  return (
    <Page title="Your order" heading={`Order ${order.id.slice(0, 8)}`}>
      <div
        class={`order-status status-${cancelled ? "cancelled" : final ? "paid" : "pending"}`}
        role="status"
        aria-live="polite"
        aria-atomic="true"
      >
        <p class="status-now">
          Status: <strong data-status={statusName(order.status)}>{statusName(order.status)}</strong>
        </p>
        {cancelled ? <p class="cancel-reason">{cancelText(order.cancelReason)}</p> : null}
        {order.status === OrderStatus.PAID ? <p>Thank you! A confirmation email is on its way.</p> : null}
        {refunded ? <p>{money(order.refundedCents, order.currency)} refunded to your card. A confirmation email is on its way.</p> : null}
        {order.status === OrderStatus.ON_HOLD ? <p>The payment is being checked by our team; we will be in touch.</p> : null}
        {!final && order.status !== OrderStatus.ON_HOLD ? <p>Checking the stock and charging the card…</p> : null}
      </div>
      {!isClosed(order.status) ? <LiveIndicator link={link} what="Status" /> : null}
      {problem ? <Problem>Live updates stopped. Reload the page to see the latest status.</Problem> : null}
      <Timeline order={order} />
      <h2>Items</h2>
      <Lines lines={order.items} currency={order.currency} totalCents={order.totalCents} links />
      <p>
        <Link href="/orders">All your orders</Link> · <Link href="/">Continue shopping</Link>
      </p>
    </Page>
  );
}

/** The steps so far with their times, then the ones still to come. */
function Timeline(props: { order: Order }) {
  const { order } = props;
  const done = order.history.filter((h) => h.toStatus !== OrderStatus.UNSPECIFIED);
  const reached = new Set(done.map((h) => h.toStatus));
  const upcoming = isFinal(order.status)
    ? []
    : [OrderStatus.STOCK_RESERVED, OrderStatus.PAID].filter((s) => !reached.has(s) && s !== order.status);
  return (
    <section aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Timeline</h2>
      <ol class="timeline">
        {done.map((h, i) => (
          <li
            key={`${h.fromStatus}-${h.toStatus}-${h.at?.seconds ?? i}-${h.at?.nanos ?? 0}`}
            class={`step step-done${h.toStatus === OrderStatus.CANCELLED ? " step-cancelled" : ""}`}
          >
            <span class="step-name">{statusName(h.toStatus)}</span>
            {h.at ? <time dateTime={timestampDate(h.at).toISOString()}>{clock(timestampDate(h.at))}</time> : null}
            {i === done.length - 1 && !isFinal(order.status) ? <span class="visually-hidden"> (current step)</span> : null}
          </li>
        ))}
        {upcoming.map((s) => (
          <li key={s} class="step step-upcoming">
            <span class="step-name">{statusName(s)}</span>
            <span class="step-wait">waiting</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
