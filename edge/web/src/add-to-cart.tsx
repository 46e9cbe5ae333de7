import type { Product } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { useState } from "preact/hooks";
import { Code, codeOf } from "./api.js";
import { addToCart } from "./cart.js";
import { here, navigate } from "./router.js";
import { retryAfterSignIn, session } from "./session.js";
import { createStore } from "./store.js";

/** The latest polite announcement ("Added … to your cart"), read out by the app's status region. */
export const announcement = createStore<{ text: string; seq: number }>({ text: "", seq: 0 });

export function announce(text: string): void {
  announcement.set({ text, seq: announcement.get().seq + 1 });
}

/**
 * Adds to the cart, or, signed out (or the session just lapsed), sends the shopper to sign in
 * and adds once they have. Returns an error text to show, or undefined.
 */
async function add(product: Product, qty: number): Promise<string | undefined> {
  const action = async () => {
    await addToCart(product.id, qty);
    announce(`Added ${qty} × ${product.name} to your cart.`);
  };
  const toSignIn = () => {
    retryAfterSignIn(action);
    navigate(`/signin?next=${encodeURIComponent(here())}`);
    return undefined;
  };
  if (session.get().status !== "signed-in") return toSignIn();
  try {
    await action();
    return undefined;
  } catch (err) {
    switch (codeOf(err)) {
      case Code.Unauthenticated:
        return toSignIn();
      case Code.FailedPrecondition:
      case Code.InvalidArgument:
        return "That quantity does not fit in the cart (at most 99 of a product).";
      case Code.NotFound:
        return "This product is no longer sold.";
      default:
        return "Could not add to the cart. Try again.";
    }
  }
}

export function AddToCartButton(props: { product: Product; available: number; qty?: number; describedBy?: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const qty = props.qty ?? 1;
  const out = props.available <= 0;
  const errorId = `add-error-${props.product.id}`;
  return (
    <div class="add-to-cart">
      <button
        type="button"
        class="button-primary"
        disabled={out}
        // Not `disabled` while busy: that would take the keyboard focus away from the button.
        aria-disabled={busy || undefined}
        aria-describedby={error ? errorId : props.describedBy}
        onClick={async () => {
          if (busy) return;
          setBusy(true);
          setError(undefined);
          setError(await add(props.product, qty));
          setBusy(false);
        }}
      >
        {out ? "Out of stock" : busy ? "Adding…" : "Add to cart"}
        <span class="visually-hidden"> – {props.product.name}</span>
      </button>
      {error ? (
        <p class="field-error" id={errorId} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
