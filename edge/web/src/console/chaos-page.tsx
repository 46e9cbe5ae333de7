import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import type { Faults, ServiceFaults } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { useRef, useState } from "preact/hooks";
import { Code, operations } from "../api.js";
import { Loading, Page } from "../components.js";
import { Field } from "../form.js";
import { money } from "../format.js";
import { copyFaults, specParts, withParts } from "./fault-spec.js";
import { fieldErrors, Refusal } from "./refusal.js";
import { useCall } from "./use-call.js";

const invariantsEveryMs = 5_000;

type Mutable = ReturnType<typeof copyFaults>;

/** What an operator chose for a scenario. */
interface Choice {
  service: string;
  rate: string;
  delayMs: string;
  eventType: string;
  poison: boolean;
}

/** A named way to break the shop: which services it touches, how to tell it is on, and the one part of their faults it changes. */
interface Scenario {
  readonly key: string;
  readonly title: string;
  readonly what: string;
  /** A fixed service, "chosen" by the operator, or "every" service. */
  readonly target: string;
  readonly asks: readonly ("rate" | "delay" | "event")[];
  /** Whether it is on in a service, and how, for people ("delay=2000ms"). */
  on(f: Faults | undefined): string | undefined;
  switchOn(f: Mutable, c: Choice): void;
  switchOff(f: Mutable, c: Choice): void;
}

const rated = (rate: string) => (rate === "" || rate === "1" ? undefined : rate);

const scenarios: readonly Scenario[] = [
  {
    key: "declines",
    title: "Payment declines",
    what: "The payment provider declines cards, at a rate.",
    target: "payment",
    asks: ["rate"],
    on: (f) => (specParts(f?.provider ?? "").has("decline") ? f?.provider : undefined),
    switchOn: (f, c) => {
      f.provider = withParts("decline", { rate: rated(c.rate) });
    },
    switchOff: (f) => {
      if (specParts(f.provider).has("decline")) f.provider = "";
    },
  },
  {
    key: "provider-failing",
    title: "Payment provider failing",
    what: "The payment provider fails transiently (UNAVAILABLE), at a rate; charges are retried.",
    target: "payment",
    asks: ["rate"],
    on: (f) => (specParts(f?.provider ?? "").get("code") === "UNAVAILABLE" ? f?.provider : undefined),
    switchOn: (f, c) => {
      f.provider = withParts("code=UNAVAILABLE", { rate: rated(c.rate) });
    },
    switchOff: (f) => {
      if (specParts(f.provider).get("code") === "UNAVAILABLE") f.provider = "";
    },
  },
  {
    key: "slow",
    title: "Service slow",
    what: "Every call of the chosen service waits, at a rate.",
    target: "chosen",
    asks: ["delay", "rate"],
    on: (f) => (specParts(f?.calls ?? "").has("delay") ? f?.calls : undefined),
    switchOn: (f, c) => {
      f.calls = withParts(f.calls, { delay: `${c.delayMs}ms`, rate: rated(c.rate) });
    },
    switchOff: (f) => {
      f.calls = withParts(f.calls, { delay: undefined });
    },
  },
  {
    key: "unavailable",
    title: "Service unavailable",
    what: "Calls of the chosen service fail with UNAVAILABLE, at a rate.",
    target: "chosen",
    asks: ["rate"],
    on: (f) => (specParts(f?.calls ?? "").get("code") === "UNAVAILABLE" ? f?.calls : undefined),
    switchOn: (f, c) => {
      f.calls = withParts(f.calls, { code: "UNAVAILABLE", rate: rated(c.rate) });
    },
    switchOff: (f) => {
      f.calls = withParts(f.calls, { code: undefined });
    },
  },
  {
    key: "broker",
    title: "Broker away",
    what: "No service can publish: events wait in the outboxes and go out once the broker is back.",
    target: "every",
    asks: [],
    on: (f) => (specParts(f?.broker ?? "").get("code") === "UNAVAILABLE" ? f?.broker : undefined),
    switchOn: (f) => {
      f.broker = "code=UNAVAILABLE";
    },
    switchOff: (f) => {
      if (specParts(f.broker).get("code") === "UNAVAILABLE") f.broker = "";
    },
  },
  {
    key: "consumer",
    title: "Consumer failing on an event type",
    what: "The chosen service's consumers fail on one event type: transiently (retried) or as poison (dead-lettered).",
    target: "chosen",
    asks: ["event"],
    on: (f) => {
      const entries = Object.entries(f?.events ?? {});
      return entries.length > 0 ? entries.map(([t, s]) => `${t}: ${s}`).join(", ") : undefined;
    },
    switchOn: (f, c) => {
      f.events[c.eventType] = c.poison ? "code=INTERNAL" : "code=UNAVAILABLE";
    },
    switchOff: (f, c) => {
      delete f.events[c.eventType];
    },
  },
];

/** The services a scenario touches among those listed. */
function targetsOf(s: Scenario, services: readonly ServiceFaults[], chosen: string): ServiceFaults[] {
  if (s.target === "every") return services.filter((x) => x.reachable);
  const name = s.target === "chosen" ? chosen : s.target;
  return services.filter((x) => x.service === name);
}

/**
 * `/admin/chaos`: the faults on in every service now (ListFaults), the named scenarios to switch
 * on and off live (SetServiceFaults, one part of a service's faults at a time, with a reason),
 * and beside them the invariants, checked every few seconds (GetInvariants).
 */
export function ConsoleChaosPage() {
  const [faults, reload] = useCall(() => operations.listFaults({}), []);
  const services = faults.state === "done" ? faults.value.services : [];
  const refused = services.filter((s) => s.reachable && !s.switchable);
  return (
    <Page title="Chaos">
      <div class="chaos">
        <div class="chaos-main">
          <section aria-labelledby="faults-heading">
            <h2 id="faults-heading">On now</h2>
            {faults.state === "loading" ? (
              <Loading what="the faults" />
            ) : faults.state === "failed" ? (
              <Refusal err={faults.err} what="listing the faults" retry={reload} />
            ) : (
              <>
                {refused.length > 0 ? (
                  <div class="notice notice-warning chaos-refused" role="status">
                    <p>
                      Chaos is refused in {refused.map((s) => s.service).join(", ")}: {refused.length === 1 ? "it runs" : "they run"} with
                      NODE_ENV=production, so {refused.length === 1 ? "its" : "their"} faults cannot be switched.
                    </p>
                  </div>
                ) : null}
                <FaultsTable services={services} />
              </>
            )}
          </section>
          {faults.state === "done" ? (
            <section aria-labelledby="scenarios-heading">
              <h2 id="scenarios-heading">Scenarios</h2>
              {scenarios.map((s) => (
                <ScenarioForm key={s.key} scenario={s} services={services} onSwitched={reload} />
              ))}
            </section>
          ) : null}
        </div>
        <InvariantsPanel />
      </div>
    </Page>
  );
}

function FaultsTable(props: { services: readonly ServiceFaults[] }) {
  return (
    <div class="table-wrap">
      <table class="console-table">
        <caption>Faults by service</caption>
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Calls</th>
            <th scope="col">Consumers</th>
            <th scope="col">Provider</th>
            <th scope="col">Broker</th>
          </tr>
        </thead>
        <tbody>
          {props.services.map((s) => {
            const events = Object.entries(s.faults?.events ?? {});
            const on = scenarios.filter((x) => x.on(s.faults) !== undefined).map((x) => x.key);
            return (
              <tr key={s.service} data-service={s.service} data-on={on.join(" ")}>
                <th scope="row">
                  {s.service}
                  {!s.reachable ? " (not answering)" : !s.switchable ? " (refused)" : ""}
                </th>
                <td>{s.faults?.calls ? <code>{s.faults.calls}</code> : "–"}</td>
                <td>
                  {events.length === 0
                    ? "–"
                    : events.map(([t, spec]) => (
                        <div key={t}>
                          <code>{t}</code>: <code>{spec}</code>
                        </div>
                      ))}
                </td>
                <td>{s.faults?.provider ? <code>{s.faults.provider}</code> : "–"}</td>
                <td>{s.faults?.broker ? <code>{s.faults.broker}</code> : "–"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** One scenario: whether it is on (and where), its settings, a reason, and Switch on / Switch off. */
function ScenarioForm(props: { scenario: Scenario; services: readonly ServiceFaults[]; onSwitched: () => void }) {
  const s = props.scenario;
  const switchable = props.services.filter((x) => x.reachable && x.switchable);
  const [chosen, setChosen] = useState(switchable[0]?.service ?? "");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [problem, setProblem] = useState<string>();
  const [refusal, setRefusal] = useState<unknown>();
  const form = useRef<HTMLFormElement>(null);
  const id = (name: string) => `${s.key}-${name}`;
  const targets = targetsOf(s, props.services, chosen);
  const usable = targets.length > 0 && targets.every((t) => t.switchable);
  const onIn = props.services.filter((x) => s.on(x.faults) !== undefined);
  const isOn = s.target === "every" ? targets.length > 0 && onIn.length === targets.length : onIn.length > 0;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const action = ((e as SubmitEvent).submitter as HTMLButtonElement | null)?.value === "off" ? "off" : "on";
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const choice: Choice = {
      service: String(data.get("service") ?? chosen),
      rate: String(data.get("rate") ?? "").trim(),
      delayMs: String(data.get("delay") ?? "").trim(),
      eventType: String(data.get("event") ?? "").trim(),
      poison: data.get("kind") === "poison",
    };
    const reason = String(data.get("reason") ?? "").trim();
    const found = new Map<string, string>();
    if (action === "on" && s.asks.includes("rate") && choice.rate !== "") {
      const r = Number(choice.rate);
      if (!(r > 0 && r <= 1)) found.set("rate", "Enter a rate above 0 and at most 1, e.g. 0.3; empty for every call.");
    }
    if (action === "on" && s.asks.includes("delay") && !/^[1-9][0-9]{0,5}$/.test(choice.delayMs))
      found.set("delay", "Enter a delay in milliseconds, e.g. 2000.");
    if (s.asks.includes("event") && !/^(\*|[A-Za-z_][A-Za-z0-9_.]*)$/.test(choice.eventType))
      found.set("event", "Enter an event type's full name, e.g. shop.auth.v1.UserRegistered, or * for every type.");
    if (reason === "") found.set("reason", `Enter why ${s.title.toLowerCase()} is switched ${action}.`);
    setErrors(found);
    setProblem(undefined);
    setRefusal(undefined);
    if (found.size > 0) {
      form.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      return;
    }
    setBusy(true);
    try {
      // Read the faults as they are now, and change only this scenario's part of them.
      const { services } = await operations.listFaults({});
      for (const t of targetsOf(s, services, choice.service)) {
        if (!t.switchable) continue;
        const next = copyFaults(t.faults);
        if (action === "on") s.switchOn(next, choice);
        else s.switchOff(next, choice);
        await operations.setServiceFaults({ service: t.service, faults: next, reason });
      }
      const reasonInput = form.current?.elements.namedItem("reason");
      if (reasonInput instanceof HTMLInputElement) reasonInput.value = "";
      props.onSwitched();
    } catch (err) {
      const ce = ConnectError.from(err);
      if (ce.code === Code.InvalidArgument) {
        const byField = new Map<string, string>();
        for (const [field, description] of fieldErrors(ce)) {
          if (field === "reason") byField.set("reason", description);
          else if (field.startsWith("faults.events")) byField.set("event", description);
          else if (field.startsWith("faults.")) byField.set(s.asks.includes("delay") ? "delay" : "rate", `${field}: ${description}`);
          else byField.set("form", `${field}: ${description}`);
        }
        setErrors(byField);
        setProblem(byField.get("form") ?? (byField.size === 0 ? ce.rawMessage : undefined));
      } else if (ce.code === Code.FailedPrecondition) {
        setProblem(`Refused: ${ce.rawMessage}.`);
      } else {
        setRefusal(err);
      }
    } finally {
      setBusy(false);
    }
  };

  const headingId = id("heading");
  return (
    <section class="scenario" aria-labelledby={headingId} data-scenario={s.key} data-on={String(isOn)}>
      <h3 id={headingId}>{s.title}</h3>
      <p>{s.what}</p>
      <p class="scenario-state" role="status" aria-live="polite">
        {isOn ? (
          <>
            <strong class="state-on">On</strong> in{" "}
            {onIn.map((x, i) => (
              <span key={x.service}>
                {i > 0 ? ", " : ""}
                {x.service} (<code>{s.on(x.faults)}</code>)
              </span>
            ))}
          </>
        ) : (
          <strong class="state-off">Off</strong>
        )}
      </p>
      {refusal !== undefined ? <Refusal err={refusal} what={`switching ${s.title.toLowerCase()}`} /> : null}
      <form ref={form} class="form form-inline" noValidate onSubmit={submit} aria-busy={busy}>
        <fieldset disabled={!usable || undefined} class="scenario-controls">
          <legend class={usable ? "visually-hidden" : undefined}>
            {usable
              ? "Settings"
              : `Refused in ${
                  targets
                    .filter((t) => !t.switchable)
                    .map((t) => t.service)
                    .join(", ") || "every service"
                }: NODE_ENV=production`}
          </legend>
          {s.target === "chosen" ? (
            <div class="field">
              <label for={id("service")}>Service</label>
              <select
                id={id("service")}
                name="service"
                value={chosen}
                onChange={(e) => setChosen((e.currentTarget as HTMLSelectElement).value)}
              >
                {props.services
                  .filter((x) => x.reachable)
                  .map((x) => (
                    <option key={x.service} value={x.service} disabled={!x.switchable}>
                      {x.service}
                      {x.switchable ? "" : " (refused)"}
                    </option>
                  ))}
              </select>
            </div>
          ) : null}
          {s.asks.includes("delay") ? (
            <Field
              id={id("delay")}
              name="delay"
              label="Delay (ms)"
              type="number"
              inputMode="numeric"
              min={1}
              defaultValue="2000"
              error={errors.get("delay")}
            />
          ) : null}
          {s.asks.includes("rate") ? (
            <Field
              id={id("rate")}
              name="rate"
              label="Rate (0–1)"
              inputMode="decimal"
              defaultValue="1"
              hint="The share of calls it hits."
              error={errors.get("rate")}
            />
          ) : null}
          {s.asks.includes("event") ? (
            <>
              <Field
                id={id("event")}
                name="event"
                label="Event type"
                defaultValue="shop.order.v1.OrderPaid"
                spellcheck={false}
                autocomplete="off"
                error={errors.get("event")}
              />
              <div class="field">
                <label for={id("kind")}>Failure</label>
                <select id={id("kind")} name="kind">
                  <option value="transient">Transient (UNAVAILABLE, retried)</option>
                  <option value="poison">Poison (INTERNAL, dead-lettered)</option>
                </select>
              </div>
            </>
          ) : null}
          <Field id={id("reason")} name="reason" label="Reason" required maxLength={200} error={errors.get("reason")} />
          <button type="submit" class="button-primary" name="switch" value="on" aria-disabled={busy || undefined}>
            Switch on
          </button>
          <button type="submit" class="button-secondary" name="switch" value="off" aria-disabled={busy || undefined}>
            Switch off
          </button>
        </fieldset>
      </form>
      {problem ? (
        <p class="notice notice-error" role="alert">
          {problem}
        </p>
      ) : null}
    </section>
  );
}

/** Whether the shop's books add up, checked again every few seconds. */
function InvariantsPanel() {
  const [inv, reload] = useCall(() => operations.getInvariants({}), [], invariantsEveryMs);
  return (
    <aside class="invariants" aria-labelledby="invariants-heading">
      <h2 id="invariants-heading">Invariants</h2>
      {inv.state === "loading" ? (
        <Loading what="the invariants" />
      ) : inv.state === "failed" ? (
        <Refusal err={inv.err} what="checking the invariants" retry={reload} />
      ) : (
        <>
          <p class="invariants-verdict" role="status" aria-live="polite" data-holds={String(inv.value.holds)}>
            {inv.value.holds ? <strong class="state-on">Holds</strong> : <strong class="state-breached">Breached</strong>}
            {inv.value.checkedAt ? ` (checked ${timestampDate(inv.value.checkedAt).toLocaleTimeString()})` : ""}
          </p>
          <dl class="facts">
            <dt>Orders</dt>
            <dd>
              {Object.entries(inv.value.orders)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([status, n]) => `${n} ${status.replaceAll("_", " ")}`)
                .join(", ") || "none"}
            </dd>
            <dt>Stuck orders</dt>
            <dd data-stuck={inv.value.stuckOrders}>{inv.value.stuckOrders}</dd>
            <dt>Settling orders</dt>
            <dd>{inv.value.settlingOrders}</dd>
            <dt>Products checked</dt>
            <dd>{inv.value.products}</dd>
            <dt>Dead letters</dt>
            <dd>{inv.value.deadLetters}</dd>
            <dt>Outbox backlog</dt>
            <dd>{String(inv.value.outboxBacklog)}</dd>
          </dl>
          {inv.value.money.length > 0 ? (
            <div class="table-wrap">
              <table class="console-table">
                <caption>Money, by currency</caption>
                <thead>
                  <tr>
                    <th scope="col">Currency</th>
                    <th scope="col" class="num">
                      Charged / paid
                    </th>
                    <th scope="col" class="num">
                      Refunded / by orders
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {inv.value.money.map((m) => (
                    <tr key={m.currency}>
                      <th scope="row">{m.currency}</th>
                      <td class="num">
                        {money(Number(m.chargedCents), m.currency)} / {money(Number(m.paidCents), m.currency)}
                      </td>
                      <td class="num">
                        {money(Number(m.refundedCents), m.currency)} / {money(Number(m.refundedByOrdersCents), m.currency)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          {inv.value.breaches.length > 0 ? (
            <>
              <h3>Breaches</h3>
              <ul class="breaches">
                {inv.value.breaches.map((b, i) => (
                  <li key={`${b.kind}-${b.subject}-${i}`}>
                    <strong>{b.kind.replaceAll("_", " ")}</strong>, {b.subject}: {b.detail}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </>
      )}
    </aside>
  );
}
