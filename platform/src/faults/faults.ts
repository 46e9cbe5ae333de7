import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { type EventBus, type EventHandler, wrapHandlers } from "../events/event-bus.js";
import { isInboxHandler, withInboxFault } from "../events/inbox-fault.js";
import type { ServerInterceptor } from "../grpc/interceptors.js";
import { type EventFaults, type FaultSpec, faultMetadataKey, faultStrikes, parseFault } from "./fault-spec.js";

import type { LiveFaults } from "./live-faults.js";

export { type FaultSettings, LiveFaults, noFaults } from "./live-faults.js";
export {
  type EventFaults,
  type FaultSpec,
  faultMetadataKey,
  faultStrikes,
  formatFault,
  type ProviderFaultSpec,
  parseFault,
  parseProviderFault,
} from "./fault-spec.js";

/** Waits and/or fails as `spec` says (when its dice say so); the wait ends early when `signal` aborts. */
async function apply(spec: FaultSpec, what: string, signal?: AbortSignal, random: () => number = Math.random): Promise<void> {
  if (!faultStrikes(spec, random)) return;
  if (spec.delayMs > 0) {
    await sleep(spec.delayMs, undefined, signal ? { signal } : undefined).catch(() => {
      throw signal?.reason ?? new ConnectError("cancelled", Code.Canceled);
    });
  }
  if (spec.code !== undefined) throw new ConnectError(`injected fault (${what})`, spec.code);
}

/**
 * Server interceptor honouring `x-fault` metadata on any method. Only installed when faults are
 * enabled (FAULTS_ENABLED); a malformed spec is INVALID_ARGUMENT, so that a test notices.
 */
export function faultInjection(random?: () => number): ServerInterceptor {
  return (next) => async (ctx) => {
    const raw = ctx.metadata.get(faultMetadataKey)[0];
    if (raw === undefined || raw === "") return next(ctx);
    let spec: FaultSpec;
    try {
      spec = parseFault(String(raw));
    } catch (err) {
      throw new ConnectError(`${faultMetadataKey}: ${(err as Error).message}`, Code.InvalidArgument);
    }
    await apply(spec, `${ctx.method.parent.name}.${ctx.method.name}`, ctx.signal, random);
    return next(ctx);
  };
}

const noFault = async (): Promise<void> => {};

/** Server interceptor applying the call fault an operator switched on (see {@link LiveFaults}). */
export function liveFaultInjection(live: LiveFaults, random?: () => number): ServerInterceptor {
  return (next) => async (ctx) => {
    const spec = live.callFault(ctx.method.parent.typeName);
    if (spec) await apply(spec, `${ctx.method.parent.name}.${ctx.method.name}`, ctx.signal, random);
    return next(ctx);
  };
}

/**
 * `bus` whose subscribers' deliveries fail (or wait) as `faults` says. A consumer through the
 * inbox (`subscribeInbox`) fails inside each attempt, as a consumer failing on that event type
 * would: a transient code (UNAVAILABLE…) is retried and the bus delivers the event again later;
 * any other code has the event dead-lettered after its attempts (a poison event). Any other
 * handler's delivery fails before the handler runs: "not handled", delivered again.
 */
export function withEventFaults(bus: EventBus, faults: EventFaults | LiveFaults, random?: () => number): EventBus {
  const faultOf =
    "eventFault" in faults ? (type: string) => faults.eventFault(type) : (type: string) => faults.get(type) ?? faults.get("*");
  if (!("eventFault" in faults) && faults.size === 0) return bus;
  return wrapHandlers(
    bus,
    (_group, handler: EventHandler): EventHandler =>
      async (event) => {
        const spec = faultOf(event.type);
        // Every inbox delivery sets its own fault, none included: a delivery that a publisher's
        // delivery set off (the in-process bus runs it in the publisher's async context) must
        // not meet the publisher's fault.
        if (isInboxHandler(handler))
          return withInboxFault(spec ? () => apply(spec, event.type, undefined, random) : noFault, () => handler(event));
        if (!spec) return handler(event);
        await apply(spec, event.type, undefined, random);
        return handler(event);
      },
  );
}

/**
 * `bus` as a service's outbox relay sees the broker while an operator switched a broker fault on
 * (see {@link LiveFaults}): each publish waits and/or fails as the fault says, before anything is
 * handed over, so a failed publish published nothing and the relay publishes it again. Publishes
 * are handed over in call order whatever their delays, and one that fails fails those called
 * after it while it was on its way: a bus that takes overlapping publishes (in process) never
 * gets a later row of a key before an earlier one. Subscriptions are left as they are.
 */
export function withBrokerFault(bus: EventBus, live: LiveFaults, random?: () => number): EventBus {
  let queued = 0;
  /** Whether the last publish called was handed over. */
  let last: Promise<boolean> = Promise.resolve(true);
  return {
    async publish(events) {
      const spec = live.brokerFault();
      // The fault's wait starts at once; the hand-over waits for the publish called before.
      const own = spec ? apply(spec, "publish", undefined, random) : Promise.resolve();
      own.catch(() => {});
      const before = queued === 0 ? Promise.resolve(true) : last;
      queued++;
      let handed: Promise<void> = Promise.resolve();
      const turn = (async () => {
        try {
          if (!(await before)) throw new ConnectError("injected fault (publish): an earlier publish failed", Code.Unavailable);
          await own;
        } finally {
          queued--;
        }
        handed = bus.publish(events);
      })();
      last = turn.then(
        () => true,
        () => false,
      );
      await turn;
      return handed;
    },
    ...(bus.resolvesWhen ? { resolvesWhen: bus.resolvesWhen } : {}),
    subscribe: (group, types, handler) => bus.subscribe(group, types, handler),
    ...(bus.deadLetter ? { deadLetter: bus.deadLetter.bind(bus) } : {}),
    close: () => bus.close(),
  };
}

/** The fault settings of a process (see {@link faultVars}). */
export interface FaultConfig {
  readonly FAULTS_ENABLED: boolean;
  readonly FAULTS_EVENTS: EventFaults | undefined;
}
