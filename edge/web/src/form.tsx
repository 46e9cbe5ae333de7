import type { InputHTMLAttributes } from "preact";

/**
 * A labelled input with its hint and error message tied to it (aria-describedby), marked
 * invalid while it has an error.
 */
export function Field(
  props: Omit<InputHTMLAttributes<HTMLInputElement>, "id"> & { id: string; label: string; hint?: string; error?: string; inline?: boolean },
) {
  const { id, label, hint, error, inline, ...input } = props;
  const describedBy = [error ? `${id}-error` : "", hint ? `${id}-hint` : ""].join(" ").trim();
  return (
    <div class={inline ? "field field-inline" : "field"}>
      <label for={id}>{label}</label>
      <input
        id={id}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        {...(input as InputHTMLAttributes<HTMLInputElement>)}
      />
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * The end of a form: what went wrong (announced), and the submit button. While busy the button
 * says so and ignores presses but keeps the keyboard focus (aria-disabled, not disabled).
 */
export function Submit(props: { busy: boolean; problem: string | undefined; label: string; busyLabel: string }) {
  return (
    <>
      {props.problem ? (
        <p class="notice notice-error" role="alert">
          {props.problem}
        </p>
      ) : null}
      <button type="submit" class="button-primary" aria-disabled={props.busy || undefined}>
        {props.busy ? props.busyLabel : props.label}
      </button>
    </>
  );
}
