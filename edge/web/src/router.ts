import { createStore, useStore } from "./store.js";

/** The location the app shows: path plus query, e.g. "/signin?next=%2Fcart". */
const location = createStore(currentLocation());
/** True once the app has navigated at least once: pages then move focus to their heading. */
let navigated = false;

function currentLocation(): string {
  return window.location.pathname + window.location.search;
}

window.addEventListener("popstate", () => {
  navigated = true;
  location.set(currentLocation());
});

/** Goes to `to` (a path of this app) without reloading. */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === currentLocation()) return;
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  navigated = true;
  location.set(currentLocation());
  window.scrollTo(0, 0);
}

export function useLocation(): { path: string; query: URLSearchParams } {
  const loc = useStore(location);
  const q = loc.indexOf("?");
  return q < 0 ? { path: loc, query: new URLSearchParams() } : { path: loc.slice(0, q), query: new URLSearchParams(loc.slice(q + 1)) };
}

export function hasNavigated(): boolean {
  return navigated;
}

/** The current path plus query, to come back to after signing in. */
export function here(): string {
  return location.get();
}

/** A click the app should handle itself (not a new tab or window). */
export function isPlainClick(e: MouseEvent): boolean {
  return e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey;
}
