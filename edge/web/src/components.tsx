import type { AnchorHTMLAttributes, ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { money, stockText } from "./format.js";
import type { LinkState } from "./live.js";
import { hasNavigated, isPlainClick, navigate } from "./router.js";

/** A link the app follows without reloading (a modified click still opens a new tab). */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { href, onClick, ...rest } = props;
  return (
    <a
      href={href}
      onClick={(e) => {
        if (typeof onClick === "function") onClick(e);
        if (e.defaultPrevented || !isPlainClick(e)) return;
        e.preventDefault();
        navigate(href);
      }}
      {...rest}
    />
  );
}

/**
 * A page: sets the document title and, after a navigation, moves focus to the heading so
 * keyboard and screen-reader users start at the new content.
 */
export function Page(props: { title: string; children: ComponentChildren; heading?: ComponentChildren }) {
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · shopmesh`;
  }, [props.title]);
  useEffect(() => {
    if (hasNavigated()) h1.current?.focus();
  }, []);
  return (
    <>
      <h1 tabIndex={-1} ref={h1}>
        {props.heading ?? props.title}
      </h1>
      {props.children}
    </>
  );
}

/** True once `active` has lasted longer than a blink: loading indicators do not flash. */
export function useSlow(active: boolean, afterMs = 150): boolean {
  const [slow, setSlow] = useState(false);
  useEffect(() => {
    if (!active) {
      setSlow(false);
      return undefined;
    }
    const t = setTimeout(() => setSlow(true), afterMs);
    return () => clearTimeout(t);
  }, [active, afterMs]);
  return slow;
}

export function Loading(props: { what: string }) {
  const slow = useSlow(true);
  return (
    <p class="loading" role="status" aria-live="polite">
      {slow ? <span class="spinner">Loading {props.what}…</span> : null}
    </p>
  );
}

export function Problem(props: { children: ComponentChildren; retry?: () => void }) {
  return (
    <div class="notice notice-error" role="alert">
      <p>{props.children}</p>
      {props.retry ? (
        <button type="button" class="button-secondary" onClick={props.retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function StockBadge(props: { available: number | undefined; id?: string }) {
  if (props.available === undefined) return null;
  const level = props.available <= 0 ? "out" : props.available <= 5 ? "low" : "in";
  return (
    <span class={`stock stock-${level}`} id={props.id} data-stock={props.available}>
      {stockText(props.available)}
    </span>
  );
}

const linkText: Record<LinkState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
};

/** Whether a live view is up to date: "Live", or "Reconnecting…" while its stream is down. */
export function LiveIndicator(props: { link: LinkState | undefined; what: string }) {
  if (!props.link) return null;
  return (
    <p class={`live live-${props.link}`} role="status">
      <span class="live-dot" aria-hidden="true" />
      {props.link === "live" ? `${props.what} update live` : linkText[props.link]}
    </p>
  );
}

/** Lines of a cart or an order, "2 × Moka Pot … €69.80", and their total. */
export function Lines(props: {
  lines: readonly { productId: string; name: string; quantity: number; lineTotalCents: number }[];
  currency: string;
  totalCents: number;
  /** Link each product to its page. */
  links?: boolean;
}) {
  return (
    <>
      <ul class="summary-lines">
        {props.lines.map((l) => (
          <li key={l.productId}>
            <span>
              {l.quantity} × {props.links ? <Link href={`/products/${encodeURIComponent(l.productId)}`}>{l.name}</Link> : l.name}
            </span>
            <span class="num">{money(l.lineTotalCents, props.currency)}</span>
          </li>
        ))}
      </ul>
      <p class="summary-total">
        <span>Total</span> <span class="num">{money(props.totalCents, props.currency)}</span>
      </p>
    </>
  );
}
