import { useRef, useState } from "preact/hooks";
import { Code, codeOf, orders } from "../api.js";
import type { Cart } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { cartCheckedOut, loadCart } from "../cart.js";
import { Lines, Page } from "../components.js";
import { Field, Submit } from "../form.js";
import { money } from "../format.js";
import { navigate } from "../router.js";
import { WithCart } from "./with-cart.js";

/** Digits of a card number as typed (spaces and dashes allowed), or undefined when it cannot be one. */
function cardDigits(typed: string): string | undefined {
  const digits = typed.replace(/[\s-]/g, "");
  return /^\d{12,19}$/.test(digits) ? digits : undefined;
}

export function CheckoutPage() {
  return <WithCart title="Checkout">{(cart) => <CheckoutForm cart={cart} />}</WithCart>;
}

function CheckoutForm({ cart }: { cart: Cart }) {
  const [busy, setBusy] = useState(false);
  const [cardError, setCardError] = useState<string>();
  const [problem, setProblem] = useState<string>();
  // One key per visit of this page: a double submit or a retry after a lost answer places one order.
  const idempotencyKey = useRef(crypto.randomUUID());
  const focusCard = () => document.getElementById("card-number")?.focus();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setProblem(undefined);
    const digits = cardDigits(String(new FormData(e.currentTarget as HTMLFormElement).get("card-number") ?? ""));
    if (!digits) {
      setCardError("Enter the 12 to 19 digits of the card number.");
      focusCard();
      return;
    }
    setCardError(undefined);
    setBusy(true);
    try {
      const placed = await orders.placeOrder({ idempotencyKey: idempotencyKey.current, payment: { cardNumber: digits } });
      cartCheckedOut();
      navigate(`/orders/${encodeURIComponent(placed.orderId)}`);
    } catch (err) {
      setBusy(false);
      switch (codeOf(err)) {
        case Code.InvalidArgument:
          setCardError("This card number is not valid. Check it and try again.");
          focusCard();
          break;
        case Code.FailedPrecondition:
          setProblem("Your cart is empty: there is nothing to order.");
          void loadCart().catch(() => undefined);
          break;
        case Code.NotFound:
          setProblem("A product in your cart is no longer sold. Remove it from the cart and try again.");
          break;
        default:
          setProblem("The order could not be placed just now. Nothing was charged. Try again.");
      }
    }
  };

  return (
    <Page title="Checkout">
      <section aria-labelledby="summary-heading" class="summary">
        <h2 id="summary-heading">Your order</h2>
        <Lines lines={cart.items} currency={cart.currency} totalCents={cart.totalCents} />
      </section>
      <form class="form" noValidate onSubmit={submit} aria-busy={busy}>
        <h2>Payment</h2>
        <Field
          id="card-number"
          name="card-number"
          label="Card number"
          inputMode="numeric"
          autocomplete="cc-number"
          placeholder="4242 4242 4242 4242"
          required
          hint="Test cards: 4242 4242 4242 4242 is paid, 4000 0000 0000 0002 is declined."
          error={cardError}
        />
        <Submit
          busy={busy}
          problem={problem}
          label={`Place order and pay ${money(cart.totalCents, cart.currency)}`}
          busyLabel="Placing your order…"
        />
      </form>
    </Page>
  );
}
