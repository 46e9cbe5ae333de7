import { useEffect, useRef, useState } from "preact/hooks";

/** Where a call a page shows stands: not answered yet, answered, or failed. */
export type Loaded<T> =
  | { readonly state: "loading" }
  | { readonly state: "done"; readonly value: T }
  | { readonly state: "failed"; readonly err: unknown };

const sameDeps = (a: readonly unknown[] | undefined, b: readonly unknown[]) =>
  a !== undefined && a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/**
 * Calls `fn` whenever `deps` change and keeps its latest answer; `reload` calls it again, the
 * last answer staying on the page until the new one comes (forms in it keep what was typed).
 * With `everyMs`, calls it again on that interval.
 */
export function useCall<T>(fn: () => Promise<T>, deps: readonly unknown[], everyMs?: number): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  const [attempt, setAttempt] = useState(0);
  const lastDeps = useRef<readonly unknown[] | undefined>(undefined);
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (!sameDeps(lastDeps.current, deps)) setLoaded({ state: "loading" });
    lastDeps.current = deps;
    const run = () => {
      fn()
        .then(
          (value) => !cancelled && setLoaded({ state: "done", value }),
          (err: unknown) => !cancelled && setLoaded({ state: "failed", err }),
        )
        .finally(() => {
          if (!cancelled && everyMs) timer = setTimeout(run, everyMs);
        });
    };
    run();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [...deps, attempt]);
  return [loaded, () => setAttempt((n) => n + 1)];
}
