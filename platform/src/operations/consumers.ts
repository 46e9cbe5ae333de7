import type { Envelope } from "../events/envelope.js";
import type { EventBus, EventHandler } from "../events/event-bus.js";

/** The handlers a service's consumers subscribed, by event type: where a dead letter is delivered again. */
export interface ConsumerDirectory {
  /** The handler of `type` in `group` (any group when undefined); undefined when none subscribed it. */
  handlerOf(type: string, group?: string): ((event: Envelope) => Promise<void>) | undefined;
}

/**
 * `bus`, recording every handler subscribed through it, for replaying dead letters: a replay goes
 * through the same handler as a delivery (the consumer's inbox, its faults, what it does after).
 */
export function recordConsumers(bus: EventBus): { bus: EventBus; consumers: ConsumerDirectory } {
  const byType = new Map<string, Array<{ group: string; handler: EventHandler }>>();
  return {
    bus: {
      publish: (events) => bus.publish(events),
      ...(bus.resolvesWhen ? { resolvesWhen: bus.resolvesWhen } : {}),
      subscribe(group, types, handler) {
        for (const type of types) byType.set(type, [...(byType.get(type) ?? []).filter((c) => c.group !== group), { group, handler }]);
        const sub = bus.subscribe(group, types, handler);
        return {
          async unsubscribe() {
            for (const type of types)
              byType.set(
                type,
                (byType.get(type) ?? []).filter((c) => c.handler !== handler),
              );
            await sub.unsubscribe();
          },
        };
      },
      ...(bus.deadLetter ? { deadLetter: bus.deadLetter.bind(bus) } : {}),
      close: () => bus.close(),
    },
    consumers: {
      handlerOf(type, group) {
        const found = byType.get(type) ?? [];
        return (group === undefined ? found[0] : (found.find((c) => c.group === group) ?? found[0]))?.handler;
      },
    },
  };
}
