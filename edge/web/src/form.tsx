import type { InputHTMLAttributes, JSX, TextareaHTMLAttributes } from "preact";

/** What ties a control to its hint and error. */
interface Described {
  readonly "aria-invalid"?: true;
  readonly "aria-describedby"?: string;
}

/** A field's label, hint and error around its control, which `control` renders with the attributes that tie them. */
function FieldFrame(props: {
  id: string;
  label: string;
  hint: string | undefined;
  error: string | undefined;
  class: string;
  control: (described: Described) => JSX.Element;
}) {
  const { id, hint, error } = props;
  const describedBy = [error ? `${id}-error` : "", hint ? `${id}-hint` : ""].join(" ").trim();
  return (
    <div class={props.class}>
      <label for={id}>{props.label}</label>
      {props.control({ "aria-invalid": error ? true : undefined, "aria-describedby": describedBy || undefined })}
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
 * A labelled input with its hint and error message tied to it (aria-describedby), marked
 * invalid while it has an error.
 */
export function Field(
  props: Omit<InputHTMLAttributes<HTMLInputElement>, "id"> & { id: string; label: string; hint?: string; error?: string; inline?: boolean },
) {
  const { id, label, hint, error, inline, ...input } = props;
  return (
    <FieldFrame
      id={id}
      label={label}
      hint={hint}
      error={error}
      class={inline ? "field field-inline" : "field"}
      control={(described) => <input id={id} {...described} {...(input as InputHTMLAttributes<HTMLInputElement>)} />}
    />
  );
}

/** A labelled multi-line text field, its hint and error tied to it as {@link Field}'s are. */
export function TextAreaField(
  props: Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, "id"> & { id: string; label: string; hint?: string; error?: string },
) {
  const { id, label, hint, error, ...textarea } = props;
  return (
    <FieldFrame
      id={id}
      label={label}
      hint={hint}
      error={error}
      class="field"
      control={(described) => <textarea id={id} {...described} {...(textarea as TextareaHTMLAttributes<HTMLTextAreaElement>)} />}
    />
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
