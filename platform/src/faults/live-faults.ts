import { violations } from "../errors.js";
import { type EventFaults, type FaultSpec, formatFault, type ProviderFaultSpec, parseFault, parseProviderFault } from "./fault-spec.js";

/** Faults as the contract writes them (shop.ops.v1.Faults): specs by where they apply. */
export interface FaultSettings {
  /** On every call of the service's own methods; "" for none. */
  readonly calls: string;
  /** Event type (or "*") → the fault of its deliveries to the service's consumers. */
  readonly events: Readonly<Record<string, string>>;
  /** The payment provider's answers to charges (a service that calls one: payment); "" for none. */
  readonly provider: string;
  /** The broker as the service's outbox relay sees it when it publishes; "" for none. */
  readonly broker: string;
}

/** No fault anywhere. */
export const noFaults: FaultSettings = { calls: "", events: {}, provider: "", broker: "" };

/** The services whose calls a call fault leaves alone: health, reflection and the operator's own way in. */
const untouched = ["grpc.", "shop.ops."];

/** Event types as the contract names them: a full message name, or "*". */
const eventType = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.[A-Z][A-Za-z0-9]*)$/;

/**
 * The faults of one service that an operator switches on and off while it runs (chaos, through
 * shop.ops.v1 SetFaults): on the calls of its own methods, on its consumers' deliveries by event
 * type, on the broker its outbox relay publishes to, and, in a service that calls a payment
 * provider, on the provider's answers. Starts with FAULTS_EVENTS when fault injection is enabled.
 */
export class LiveFaults {
  #calls: FaultSpec | undefined;
  #events = new Map<string, FaultSpec>();
  #provider: ProviderFaultSpec | undefined;
  #broker: FaultSpec | undefined;
  readonly #hasProvider: boolean;

  /** `opts.provider`: the service calls a payment provider, so provider faults may be switched on; refused otherwise. */
  constructor(initial?: EventFaults, opts: { readonly provider?: boolean } = {}) {
    for (const [type, spec] of initial ?? []) this.#events.set(type, spec);
    this.#hasProvider = opts.provider === true;
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

  /** The fault of the payment provider's answer to a charge, if any. */
  providerFault(): ProviderFaultSpec | undefined {
    return this.#provider;
  }

  /** The fault of a publish to the broker, if any. */
  brokerFault(): FaultSpec | undefined {
    return this.#broker;
  }

  /** What is switched on now, as the contract writes it. */
  settings(): FaultSettings {
    return {
      calls: this.#calls ? formatFault(this.#calls) : "",
      events: Object.fromEntries([...this.#events].map(([type, spec]) => [type, formatFault(spec)])),
      provider: this.#provider ? formatFault(this.#provider) : "",
      broker: this.#broker ? formatFault(this.#broker) : "",
    };
  }

  /** Replaces every fault with `next`; INVALID_ARGUMENT naming each malformed spec, and nothing changes then. */
  replace(next: FaultSettings): FaultSettings {
    const v = violations();
    const parse = <S extends FaultSpec>(field: string, text: string, read: (text: string) => S): S | undefined => {
      if (text.trim() === "") return undefined;
      try {
        return read(text);
      } catch (err) {
        v.add(field, (err as Error).message);
        return undefined;
      }
    };
    const calls = parse("faults.calls", next.calls, parseFault);
    let provider: ProviderFaultSpec | undefined;
    if (!this.#hasProvider && next.provider.trim() !== "") v.add("faults.provider", "only payment calls a payment provider");
    else provider = parse("faults.provider", next.provider, parseProviderFault);
    const broker = parse("faults.broker", next.broker, parseFault);
    const events = new Map<string, FaultSpec>();
    for (const [type, text] of Object.entries(next.events)) {
      const field = `faults.events[${type}]`;
      if (!eventType.test(type)) v.add(field, 'must be keyed by an event type\'s full name (shop.order.v1.OrderPlaced) or "*"');
      else {
        const spec = parse(field, text, parseFault);
        if (spec) events.set(type, spec);
      }
    }
    v.throwIfAny();
    this.#calls = calls;
    this.#events = events;
    this.#provider = provider;
    this.#broker = broker;
    return this.settings();
  }
}
