const DEFAULT_TIMEOUT_MS = 10_000;

/** How long to wait, and how often to look. */
export interface PollOptions {
  /** Gives up after this long; default 10 s. */
  readonly timeoutMs?: number;
  /** The pause between two checks; default 10 ms. */
  readonly intervalMs?: number;
}

/**
 * Calls `done` until it returns true, pausing `intervalMs` between calls; resolves to true then,
 * or to false once `timeoutMs` has passed without it. For a wait the caller judges afterwards
 * (the test's own assertion, or a report of what did not settle). A `done` that throws rejects.
 */
export async function pollUntil(
  done: () => boolean | Promise<boolean>,
  { timeoutMs = DEFAULT_TIMEOUT_MS, intervalMs = 10 }: PollOptions = {},
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** {@link pollUntil}, rejecting when `timeoutMs` passes first with an error that names `what` it waited for. */
export async function waitUntil(
  done: () => boolean | Promise<boolean>,
  opts: PollOptions & { readonly what?: string } = {},
): Promise<void> {
  if (!(await pollUntil(done, opts))) {
    throw new Error(`waited ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms in vain for ${opts.what ?? "the condition"}`);
  }
}
