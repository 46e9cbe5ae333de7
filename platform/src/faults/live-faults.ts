import { violations } from "../errors.js";
import { type EventFaults, type FaultSpec, formatFault, parseFault } from "./fault-spec.js";

/** Faults as the contract writes them (shop.ops.v1.Faults): specs by where they apply. */
export interface FaultSettings {
  /** On every call of the service's own methods; "" for none. */
  readonly calls: string;
  /** Event type (or "*") → the fault of its deliveries to the service's consumers. */
  readonly events: Readonly<Record<string, string>>;
}

/** The services whose calls a call fault leaves alone: health, reflection and the operator's own way in. */
const untouched = ["grpc.", "shop.ops."];

/** Event types as the contract names them: a full message name, or "*". */
const eventType = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.[A-Z][A-Za-z0-9]*)$/;

/**
 * The faults of one service that an operator switches on and off while it runs (chaos, through
 * shop.ops.v1 SetFaults): on the calls of its own methods, and on its consumers' deliveries by
 * event type. Starts with FAULTS_EVENTS when fault injection is enabled.
 */
export class LiveFaults {
  #calls: FaultSpec | undefined;
  #events = new Map<string, FaultSpec>();

  constructor(initial?: EventFaults) {
    for (const [type, spec] of initial ?? []) this.#events.set(type, spec);
  }

  /** The fault of a call to `typeName` (the called service's full name), if any. */
  callFault(typeName: string): FaultSpec | undefined {
    if (!this.#calls || untouched.some((p) => typeName.startsWith(p))) return undefined;
    return this.#calls;
  }

  /** The fault of a delivery of `type`, if any. */
  eventFault(type: string): FaultSpec | undefined {
    return this.#events.get(type) ?? this.#events.get("*");
  }

  /** What is switched on now, as the contract writes it. */
  settings(): FaultSettings {
    return {
      calls: this.#calls ? formatFault(this.#calls) : "",
      events: Object.fromEntries([...this.#events].map(([type, spec]) => [type, formatFault(spec)])),
    };
  }

  /** Replaces every fault with `next`; INVALID_ARGUMENT naming each malformed spec, and nothing changes then. */
  replace(next: FaultSettings): FaultSettings {
    const v = violations();
    const parse = (field: string, text: string): FaultSpec | undefined => {
      try {
        return parseFault(text);
      } catch (err) {
        v.add(field, (err as Error).message);
        return undefined;
      }
    };
    const calls = next.calls.trim() === "" ? undefined : parse("faults.calls", next.calls);
    const events = new Map<string, FaultSpec>();
    for (const [type, text] of Object.entries(next.events)) {
      const field = `faults.events[${type}]`;
      if (!eventType.test(type)) v.add(field, 'must be keyed by an event type\'s full name (shop.order.v1.OrderPlaced) or "*"');
      else if (text.trim() !== "") {
        const spec = parse(field, text);
        if (spec) events.set(type, spec);
      }
    }
    v.throwIfAny();
    this.#calls = calls;
    this.#events = events;
    return this.settings();
  }
}
