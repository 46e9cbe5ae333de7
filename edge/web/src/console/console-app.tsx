import { ConnectError } from "@connectrpc/connect";
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { Code } from "../api.js";
import { Link, Loading, Page } from "../components.js";
import { Field, Submit } from "../form.js";
import { navigate } from "../router.js";
import { session, signIn, signOut } from "../session.js";
import { useStore } from "../store.js";
import { ConsoleAuditPage } from "./audit-page.js";
import { ConsoleChaosPage } from "./chaos-page.js";
import { ConsoleEventsPage } from "./events-page.js";
import { ConsoleOrderPage } from "./order-page.js";
import { ConsoleOrdersPage } from "./orders-page.js";
import { ConsoleNewProductPage, ConsoleProductPage, ConsoleProductsPage, newProductPath } from "./products-page.js";
import { ConsoleProductStockPage, ConsoleStockPage } from "./stock-page.js";

/** The console's sections, each with the path prefixes its pages live under. */
const sections: readonly { readonly label: string; readonly href: string; readonly under: readonly string[] }[] = [
  { label: "Orders", href: "/admin", under: ["/admin", "/admin/orders"] },
  { label: "Products", href: "/admin/products", under: ["/admin/products", newProductPath] },
  { label: "Stock", href: "/admin/stock", under: ["/admin/stock"] },
  { label: "Events", href: "/admin/events", under: ["/admin/events"] },
  { label: "Chaos", href: "/admin/chaos", under: ["/admin/chaos"] },
  { label: "Audit", href: "/admin/audit", under: ["/admin/audit"] },
];

const inSection = (path: string, under: readonly string[]) => under.some((u) => path === u || (u !== "/admin" && path.startsWith(`${u}/`)));

/** Whether `path` belongs to the operations console. */
export function isConsolePath(path: string): boolean {
  return path === "/admin" || path.startsWith("/admin/");
}

/**
 * The operations console under /admin: the same app, session and generated clients as the
 * storefront, with pages for operators. Every call it makes is an operator method; the edge
 * refuses a shopper's token (PERMISSION_DENIED), and the pages say so.
 */
export function ConsoleApp(props: { path: string; query: URLSearchParams }) {
  const state = useStore(session);
  let page: JSX.Element;
  if (state.status === "restoring") page = <Loading what="your session" />;
  else if (state.status === "signed-out") page = <ConsoleSignIn expired={state.expired} />;
  else
    page = (
      <>
        {state.user.operator ? null : (
          <div class="notice notice-error not-operator" role="alert">
            <p>
              <strong>{state.user.email}</strong> is not an operator. The console needs an operator's account (created with{" "}
              <code>npm run operator -- create</code>); its calls are refused for this one.
            </p>
          </div>
        )}
        {consoleRoute(props.path, props.query)}
      </>
    );
  return (
    <div class="console">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="site-header console-header">
        <div class="bar">
          <Link href="/admin" class="brand">
            shopmesh operations
          </Link>
          <nav aria-label="Console">
            <ul>
              {sections.map((x) => (
                <li key={x.href}>
                  <Link href={x.href} aria-current={inSection(props.path, x.under) ? "page" : undefined}>
                    {x.label}
                  </Link>
                </li>
              ))}
              <li>
                <Link href="/">Storefront</Link>
              </li>
            </ul>
          </nav>
          <div class="account">
            {state.status === "signed-in" ? (
              <>
                <span class="who">
                  Signed in as <strong>{state.user.name}</strong> ({state.user.operator ? "operator" : "shopper"})
                </span>
                <button
                  type="button"
                  class="button-secondary"
                  onClick={() => {
                    void signOut().finally(() => navigate("/admin"));
                  }}
                >
                  Sign out
                </button>
              </>
            ) : null}
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

/** The id in a path like /admin/orders/<id>, decoded; undefined for another path or a malformed one. */
function idIn(path: string, prefix: string): string | undefined {
  if (!path.startsWith(prefix)) return undefined;
  const raw = path.slice(prefix.length);
  if (raw === "" || raw.includes("/")) return undefined;
  try {
    return decodeURIComponent(raw) || undefined;
  } catch {
    return undefined;
  }
}

function consoleRoute(path: string, query: URLSearchParams): JSX.Element {
  if (path === "/admin" || path === "/admin/orders") return <ConsoleOrdersPage query={query} />;
  if (path === "/admin/products") return <ConsoleProductsPage query={query} />;
  if (path === newProductPath) return <ConsoleNewProductPage />;
  if (path === "/admin/stock") return <ConsoleStockPage query={query} />;
  if (path === "/admin/events") return <ConsoleEventsPage query={query} />;
  if (path === "/admin/chaos") return <ConsoleChaosPage />;
  if (path === "/admin/audit") return <ConsoleAuditPage query={query} />;
  const orderId = idIn(path, "/admin/orders/");
  if (orderId) return <ConsoleOrderPage id={orderId} />;
  const managedId = idIn(path, "/admin/products/");
  if (managedId) return <ConsoleProductPage key={managedId} id={managedId} query={query} />;
  const productId = idIn(path, "/admin/stock/");
  if (productId) return <ConsoleProductStockPage key={productId} productId={productId} query={query} />;
  return (
    <Page title="Not found">
      <p>The console has no such page.</p>
      <p>
        <Link href="/admin">All orders</Link>
      </p>
    </Page>
  );
}

/** Sign-in for operators: the shop's own Login; the account's operator role decides what the console may do. */
function ConsoleSignIn(props: { expired: boolean }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [invalid, setInvalid] = useState<{ email?: string; password?: string }>({});

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const email = String(data.get("email") ?? "").trim();
    const password = String(data.get("password") ?? "");
    const errors: { email?: string; password?: string } = {};
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) errors.email = "Enter an email address like ops@example.com.";
    if (password === "") errors.password = "Enter your password.";
    setInvalid(errors);
    setProblem(undefined);
    if (errors.email || errors.password) return;
    setBusy(true);
    try {
      await signIn(email, password);
    } catch (err) {
      setBusy(false);
      const code = ConnectError.from(err).code;
      setProblem(
        code === Code.Unauthenticated
          ? "The email or the password is wrong."
          : code === Code.ResourceExhausted
            ? "Too many attempts. Wait a minute and try again."
            : "Could not sign in just now. Try again.",
      );
    }
  };

  return (
    <Page title="Operator sign-in">
      {props.expired ? (
        <div class="notice notice-info" role="status">
          <p>Your session has expired. Sign in again.</p>
        </div>
      ) : null}
      <p>The operations console is for the shop's operators. Sign in with an operator's account.</p>
      <form class="form" noValidate onSubmit={submit} aria-busy={busy}>
        <Field id="email" name="email" label="Email" type="email" autocomplete="username" required error={invalid.email} />
        <Field
          id="password"
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
          required
          error={invalid.password}
        />
        <Submit busy={busy} problem={problem} label="Sign in" busyLabel="Signing in…" />
      </form>
    </Page>
  );
}
