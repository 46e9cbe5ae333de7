import { ConnectError } from "@connectrpc/connect";
import { useRef, useState } from "preact/hooks";
import { Code } from "../api.js";
import { Link, Page } from "../components.js";
import { Field, Submit } from "../form.js";
import { navigate, useLocation } from "../router.js";
import { signIn, signUp } from "../session.js";

type FieldName = "name" | "email" | "password";

/**
 * Sign in or create an account. Shown on /signin and /signup, and in place of any page that needs
 * a signed-in shopper (then `next` is that page and signing in simply shows it).
 */
export function SignInPage(props: { mode: "signin" | "signup"; next: string; expired: boolean }) {
  const signup = props.mode === "signup";
  const { path } = useLocation();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [invalid, setInvalid] = useState<Partial<Record<FieldName, string>>>({});
  const form = useRef<HTMLFormElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const name = String(data.get("name") ?? "").trim();
    const email = String(data.get("email") ?? "").trim();
    const password = String(data.get("password") ?? "");
    const errors: Partial<Record<FieldName, string>> = {};
    if (signup && name === "") errors.name = "Enter your name.";
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) errors.email = "Enter an email address like ada@example.com.";
    if (signup ? password.length < 8 : password === "") errors.password = signup ? "Use at least 8 characters." : "Enter your password.";
    setInvalid(errors);
    setProblem(undefined);
    const first = (Object.keys(errors) as FieldName[])[0];
    if (first) {
      form.current?.querySelector<HTMLInputElement>(`[name=${first}]`)?.focus();
      return;
    }
    setBusy(true);
    try {
      if (signup) await signUp(name, email, password);
      else await signIn(email, password);
      // On /signin itself go on; in place of a page, that page now shows.
      if (path === "/signin" || path === "/signup") navigate(props.next, { replace: true });
    } catch (err) {
      setBusy(false);
      setProblem(explain(err, signup));
    }
  };

  const other = `${signup ? "/signin" : "/signup"}?next=${encodeURIComponent(props.next)}`;

  return (
    <Page title={signup ? "Create an account" : "Sign in"}>
      {props.expired ? (
        <div class="notice notice-info" role="status">
          <p>Your session has expired. Sign in again: your cart is kept.</p>
        </div>
      ) : null}
      <form ref={form} class="form" noValidate onSubmit={submit} aria-busy={busy}>
        {signup ? <Field id="name" name="name" label="Name" autocomplete="name" required error={invalid.name} /> : null}
        <Field id="email" name="email" label="Email" type="email" autocomplete="email" required error={invalid.email} />
        <Field
          id="password"
          name="password"
          label="Password"
          type="password"
          autocomplete={signup ? "new-password" : "current-password"}
          required
          minLength={signup ? 8 : undefined}
          hint={signup ? "At least 8 characters." : undefined}
          error={invalid.password}
        />
        <Submit
          busy={busy}
          problem={problem}
          label={signup ? "Create account" : "Sign in"}
          busyLabel={signup ? "Creating your account…" : "Signing in…"}
        />
      </form>
      <p class="switch">
        {signup ? "Have an account? " : "New here? "}
        <Link href={other}>{signup ? "Sign in" : "Create an account"}</Link>
      </p>
    </Page>
  );
}

function explain(err: unknown, signup: boolean): string {
  const e = ConnectError.from(err);
  switch (e.code) {
    case Code.Unauthenticated:
      return "The email or the password is wrong.";
    case Code.AlreadyExists:
      return "There is already an account with this email. Sign in instead.";
    case Code.InvalidArgument:
      return `Please check the form: ${e.rawMessage}.`;
    case Code.ResourceExhausted:
      return "Too many attempts. Wait a minute and try again.";
    default:
      return signup ? "The account could not be created just now. Try again." : "Could not sign in just now. Try again.";
  }
}
