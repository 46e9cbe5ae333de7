import type { Cart } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import type { JSX } from "preact";
import { cartStore, loadCart } from "../cart.js";
import { Link, Loading, Page, Problem } from "../components.js";
import { useStore } from "../store.js";

/** A page about the cart: loading, failed or empty, it says so; otherwise `children` renders the cart. */
export function WithCart(props: { title: string; children: (cart: Cart) => JSX.Element }) {
  const { cart, error } = useStore(cartStore);
  if (!cart) {
    return (
      <Page title={props.title}>
        {error ? <Problem retry={() => void loadCart()}>The cart could not be loaded.</Problem> : <Loading what="your cart" />}
      </Page>
    );
  }
  if (cart.items.length === 0) {
    return (
      <Page title={props.title}>
        <p>
          Your cart is empty. <Link href="/">Browse the products</Link>.
        </p>
      </Page>
    );
  }
  return props.children(cart);
}
