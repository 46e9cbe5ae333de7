import type { Cart, CartItem } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { useEffect, useState } from "preact/hooks";
import { announce } from "../add-to-cart.js";
import { loadCart, removeFromCart, setQuantity } from "../cart.js";
import { LiveIndicator, Link, Page } from "../components.js";
import { money, stockText } from "../format.js";
import { useLiveStock } from "../stock.js";
import { WithCart } from "./with-cart.js";

export function CartPage() {
  // Fresh on every visit: another tab or device may have changed it.
  useEffect(() => {
    void loadCart().catch(() => undefined);
  }, []);
  return <WithCart title="Your cart">{(cart) => <CartTable cart={cart} />}</WithCart>;
}

function CartTable({ cart }: { cart: Cart }) {
  const { levels, link } = useLiveStock(cart.items.map((i) => i.productId));
  const short = cart.items.some((i) => (levels.get(i.productId) ?? Number.POSITIVE_INFINITY) < i.quantity);
  return (
    <Page title="Your cart">
      <LiveIndicator link={link} what="Stock" />
      <table class="lines">
        <caption class="visually-hidden">Products in your cart</caption>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Price</th>
            <th scope="col">Quantity</th>
            <th scope="col" class="num">
              Total
            </th>
            <th scope="col">
              <span class="visually-hidden">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {cart.items.map((item) => (
            <CartLine key={item.productId} item={item} currency={cart.currency} available={levels.get(item.productId)} />
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={3}>
              Total
            </th>
            <td class="num total">{money(cart.totalCents, cart.currency)}</td>
            <td />
          </tr>
        </tfoot>
      </table>
      {short ? (
        <p class="notice notice-warning" role="status">
          Some products have fewer units in stock than your cart holds. Lower the quantities, or the order will be cancelled as out of
          stock.
        </p>
      ) : null}
      <p class="actions">
        <Link href="/checkout" class="button-link button-primary">
          Go to checkout
        </Link>
      </p>
    </Page>
  );
}

function CartLine(props: { item: CartItem; currency: string; available: number | undefined }) {
  const { item } = props;
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const inputId = `qty-${item.productId}`;
  const change = async (work: () => Promise<void>) => {
    if (busy) return;
    setBusy(true);
    setFailed(false);
    try {
      await work();
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
    }
  };
  const short = props.available !== undefined && props.available < item.quantity;
  return (
    <tr aria-busy={busy}>
      <th scope="row">
        <Link href={`/products/${encodeURIComponent(item.productId)}`}>{item.name}</Link>
        {short ? <span class="stock stock-low line-stock">{stockText(props.available ?? 0)}</span> : null}
        {failed ? (
          <span class="field-error" role="alert">
            The change did not go through. Try again.
          </span>
        ) : null}
      </th>
      <td>{money(item.unitPriceCents, props.currency)}</td>
      <td>
        <label for={inputId} class="visually-hidden">
          Quantity of {item.name}
        </label>
        <input
          id={inputId}
          class="qty"
          type="number"
          inputMode="numeric"
          min={1}
          max={99}
          value={item.quantity}
          readOnly={busy}
          onChange={(e) => {
            const n = Number.parseInt(e.currentTarget.value, 10);
            if (Number.isFinite(n) && n >= 1 && n <= 99 && n !== item.quantity) void change(() => setQuantity(item.productId, n));
          }}
        />
      </td>
      <td class="num">{money(item.lineTotalCents, props.currency)}</td>
      <td>
        <button
          type="button"
          class="button-secondary"
          aria-disabled={busy || undefined}
          onClick={() =>
            void change(async () => {
              await removeFromCart(item.productId);
              announce(`Removed ${item.name} from your cart.`);
              // The row and its button are gone: continue from the page heading.
              document.querySelector<HTMLElement>("main h1")?.focus();
            })
          }
        >
          Remove<span class="visually-hidden"> {item.name}</span>
        </button>
      </td>
    </tr>
  );
}
