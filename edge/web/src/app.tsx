import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { announcement } from "./add-to-cart.js";
import { cartStore, itemCount } from "./cart.js";
import { Link, Loading } from "./components.js";
import { ConsoleApp, isConsolePath } from "./console/console-app.js";
import { CartPage } from "./pages/cart-page.js";
import { CheckoutPage } from "./pages/checkout-page.js";
import { NotFoundPage } from "./pages/not-found-page.js";
import { OrderPage } from "./pages/order-page.js";
import { OrdersPage } from "./pages/orders-page.js";
import { ProductPage } from "./pages/product-page.js";
import { ProductsPage } from "./pages/products-page.js";
import { SignInPage } from "./pages/sign-in-page.js";
import { here, navigate, useLocation } from "./router.js";
import { restoreSession, session, signOut } from "./session.js";
import { useStore } from "./store.js";

export function App() {
  const state = useStore(session);
  const { path, query } = useLocation();
  useEffect(() => {
    void restoreSession();
  }, []);

  /** Pages of a signed-in shopper: signed out, the sign-in form takes their place, same URL. */
  const signedIn = (page: () => JSX.Element) =>
    state.status === "signed-in" ? (
      page()
    ) : (
      <SignInPage mode="signin" next={here()} expired={state.status === "signed-out" && state.expired} />
    );

  // The operations console: its own layout and pages, the same session and clients.
  if (isConsolePath(path)) return <ConsoleApp path={path} query={query} />;

  const page = state.status === "restoring" ? <Loading what="your session" /> : route(path, query, signedIn);

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header path={path} />
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      <Announcer />
      <footer class="site-footer">
        <p>shopmesh: a gRPC service mesh with a storefront. Test card 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined.</p>
      </footer>
    </>
  );
}

/** The page for a path; `signedIn` wraps the pages that need a signed-in shopper. */
function route(path: string, query: URLSearchParams, signedIn: (page: () => JSX.Element) => JSX.Element): JSX.Element {
  if (path === "/") return <ProductsPage />;
  if (path === "/cart") return signedIn(() => <CartPage />);
  if (path === "/checkout") return signedIn(() => <CheckoutPage />);
  if (path === "/orders") return signedIn(() => <OrdersPage />);
  if (path === "/signin" || path === "/signup") {
    return <SignInPage mode={path === "/signin" ? "signin" : "signup"} next={safeNext(query.get("next"))} expired={false} />;
  }
  const product = param(/^\/products\/([^/]+)$/, path);
  if (product) return <ProductPage id={product} />;
  const order = param(/^\/orders\/([^/]+)$/, path);
  if (order) return signedIn(() => <OrderPage id={order} />);
  return <NotFoundPage />;
}

/** The decoded path parameter `pattern` captures, or undefined (also for malformed escapes). */
function param(pattern: RegExp, path: string): string | undefined {
  const raw = pattern.exec(path)?.[1];
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** Only paths of this app: never an absolute URL handed in through the query. */
function safeNext(next: string | null): string {
  return next?.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function Header(props: { path: string }) {
  const state = useStore(session);
  const { cart } = useStore(cartStore);
  const count = itemCount(cart);
  const current = (href: string) => (props.path === href ? "page" : undefined);
  // Where signing in leads back to: here, unless here is already a sign-in form.
  const back = encodeURIComponent(props.path === "/signin" || props.path === "/signup" ? "/" : here());
  return (
    <header class="site-header">
      <div class="bar">
        <Link href="/" class="brand">
          <span aria-hidden="true">☕</span> shopmesh
        </Link>
        <nav aria-label="Main">
          <ul>
            <li>
              <Link href="/" aria-current={current("/")}>
                Products
              </Link>
            </li>
            {state.status === "signed-in" ? (
              <li>
                <Link href="/orders" aria-current={current("/orders")}>
                  Orders
                </Link>
              </li>
            ) : null}
            <li>
              {state.status === "signed-in" ? (
                <Link href="/cart" aria-current={current("/cart")} aria-label={`Cart, ${count} ${count === 1 ? "item" : "items"}`}>
                  Cart <span class="count">{count}</span>
                </Link>
              ) : (
                <Link href="/cart" aria-current={current("/cart")}>
                  Cart
                </Link>
              )}
            </li>
          </ul>
        </nav>
        <div class="account">
          {state.status === "signed-in" ? (
            <>
              <span class="who">
                Signed in as <strong>{state.user.name}</strong>
              </span>
              <button
                type="button"
                class="button-secondary"
                onClick={() => {
                  void signOut().finally(() => navigate("/"));
                }}
              >
                Sign out
              </button>
            </>
          ) : state.status === "signed-out" ? (
            <>
              <Link href={`/signin?next=${back}`}>Sign in</Link>
              <Link href={`/signup?next=${back}`} class="button-link">
                Create account
              </Link>
            </>
          ) : null}
        </div>
      </div>
    </header>
  );
}

/** The polite status region for announcements; the text fades from view after a few seconds. */
function Announcer() {
  const { text, seq } = useStore(announcement);
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    if (seq === 0) return undefined;
    setVisible(true);
    const t = setTimeout(() => setVisible(false), 5_000);
    return () => clearTimeout(t);
  }, [seq]);
  return (
    <div class={`toast${visible ? " toast-visible" : ""}`} role="status" aria-live="polite">
      {visible ? text : ""}
    </div>
  );
}
