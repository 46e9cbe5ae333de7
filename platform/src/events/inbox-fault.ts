import { AsyncLocalStorage } from "node:async_hooks";
import type { EventHandler } from "./event-bus.js";

/** The injected fault of the delivery in progress, applied by the inbox inside each attempt. */
const storage = new AsyncLocalStorage<() => Promise<void>>();
const inboxHandlers = new WeakSet<EventHandler>();

/** Marks `handler` as consuming through the inbox (`subscribeInbox`): injected faults fail its attempts, not its delivery. */
export function markInboxHandler(handler: EventHandler): EventHandler {
  inboxHandlers.add(handler);
  return handler;
}

export function isInboxHandler(handler: EventHandler): boolean {
  return inboxHandlers.has(handler);
}

/** Runs `body` with `fault` applied in each inbox attempt it makes. */
export function withInboxFault<T>(fault: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  return storage.run(fault, body);
}

/** Waits or fails as the fault injected into this delivery says (no-op without one). */
export async function applyInboxFault(): Promise<void> {
  await storage.getStore()?.();
}
