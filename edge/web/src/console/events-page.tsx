import { ConnectError } from "@connectrpc/connect";
import { type DeadLetter, DeadLetterStatus } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { useRef, useState } from "preact/hooks";
import { Code, operations } from "../api.js";
import { Link, Loading, Page } from "../components.js";
import { when } from "../format.js";
import { Field } from "../form.js";
import { navigate } from "../router.js";
import { fieldErrors, Refusal } from "./refusal.js";
import { useCall } from "./use-call.js";

const pageSize = 20;

/** The letters an operator lists, under the words the page's query uses. */
const statusFilters: readonly (readonly [string, DeadLetterStatus, string])[] = [
  ["dead", DeadLetterStatus.DEAD, "Waiting"],
  ["replayed", DeadLetterStatus.REPLAYED, "Replayed"],
  ["discarded", DeadLetterStatus.DISCARDED, "Discarded"],
];

const statusWord = (s: DeadLetterStatus) => statusFilters.find(([, v]) => v === s)?.[2] ?? DeadLetterStatus[s]?.toLowerCase() ?? "unknown";

function eventsPath(filters: { service?: string; status?: string; page?: string }): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const text = q.toString();
  return text ? `/admin/events?${text}` : "/admin/events";
}

/** "3 min 20 s" for an age in seconds. */
function age(seconds: number): string {
  if (seconds <= 0) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * `/admin/events?service=notification&status=dead&page=<token>`: per service the outbox backlog, its oldest row's age
 * and the dead letters waiting (GetEvents); the dead letters of every service, decoded, each to
 * replay or discard with a reason, or all at once (of one service or of every one).
 */
export function ConsoleEventsPage(props: { query: URLSearchParams }) {
  const service = props.query.get("service") ?? "";
  const status = props.query.get("status") ?? "dead";
  const pageToken = props.query.get("page") ?? "";
  const filter = statusFilters.find(([name]) => name === status) ?? statusFilters[0];
  const [health, reloadHealth] = useCall(() => operations.getEvents({}), []);
  const [letters, reloadLetters] = useCall(
    () => operations.listAllDeadLetters({ service, pageSize, pageToken, status: filter?.[1] ?? DeadLetterStatus.DEAD }),
    [service, pageToken, filter?.[0]],
  );
  const [outcome, setOutcome] = useState<string>();
  const names = health.state === "done" ? health.value.services.map((s) => s.service) : service ? [service] : [];
  const shown = { service, status: status === "dead" ? "" : status };
  const acted = (text: string) => {
    setOutcome(text);
    reloadHealth();
    reloadLetters();
  };

  return (
    <Page title="Events">
      <section aria-labelledby="health-heading">
        <h2 id="health-heading">Per service</h2>
        {health.state === "loading" ? (
          <Loading what="the services' events" />
        ) : health.state === "failed" ? (
          <Refusal err={health.err} what="reading the services' events" retry={reloadHealth} />
        ) : (
          <div class="table-wrap">
            <table class="console-table">
              <caption>Outbox and dead letters, by service</caption>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col" class="num">
                    Outbox backlog
                  </th>
                  <th scope="col" class="num">
                    Oldest unpublished
                  </th>
                  <th scope="col" class="num">
                    Dead letters waiting
                  </th>
                </tr>
              </thead>
              <tbody>
                {health.value.services.map((s) => (
                  <tr key={s.service} data-service={s.service}>
                    <th scope="row">{s.service}</th>
                    {s.reachable ? (
                      <>
                        <td class="num">{String(s.outboxBacklog)}</td>
                        <td class="num">{age(s.oldestUnpublishedAgeSeconds)}</td>
                        <td class="num" data-dead-letters={String(s.deadLetters)}>
                          {String(s.deadLetters)}
                        </td>
                      </>
                    ) : (
                      <td colSpan={3} class="unreachable">
                        Not answering
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="letters-heading">
        <h2 id="letters-heading">Dead letters</h2>
        {outcome ? (
          <p class="notice notice-info letter-outcome" role="status">
            {outcome}
          </p>
        ) : null}
        <div class="console-tools">
          <form
            class="form form-inline"
            aria-label="Filter dead letters"
            onSubmit={(e) => {
              e.preventDefault();
              const data = new FormData(e.currentTarget as HTMLFormElement);
              const s = String(data.get("status") ?? "");
              navigate(eventsPath({ service: String(data.get("service") ?? ""), status: s === "dead" ? "" : s }));
            }}
          >
            <div class="field">
              <label for="letter-service">Service</label>
              <select id="letter-service" name="service" value={service}>
                <option value="">Every service</option>
                {names.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="letter-status">Letters</label>
              <select id="letter-status" name="status" value={filter?.[0]}>
                {statusFilters.map(([name, , label]) => (
                  <option key={name} value={name}>
                    {label}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" class="button-secondary">
              Show
            </button>
          </form>
          {filter?.[1] === DeadLetterStatus.DEAD ? <EveryLetterForm service={service} onDone={acted} /> : null}
        </div>
        {letters.state === "loading" ? (
          <Loading what="the dead letters" />
        ) : letters.state === "failed" ? (
          <Refusal err={letters.err} what="listing the dead letters" retry={reloadLetters} />
        ) : (
          <>
            {letters.value.items.length === 0 ? (
              <p class="empty">No {filter?.[2].toLowerCase()} dead letters.</p>
            ) : (
              <ol class="letters">
                {letters.value.items.map((l) => (
                  <LetterItem key={l.id} letter={l} onDone={acted} />
                ))}
              </ol>
            )}
            <nav class="pager" aria-label="Pages of dead letters">
              {pageToken ? <Link href={eventsPath(shown)}>First page</Link> : null}
              {letters.value.nextPageToken ? (
                <Link href={eventsPath({ ...shown, page: letters.value.nextPageToken })}>Next page</Link>
              ) : null}
            </nav>
          </>
        )}
      </section>
    </Page>
  );
}

/** The payload as the service decoded it, or its bytes when it could not. */
function payloadText(l: DeadLetter): string {
  if (l.payload && Object.keys(l.payload).length > 0) return JSON.stringify(l.payload, null, 2);
  return l.payloadBase64 ? `(not decoded) ${l.payloadBase64}` : "(empty)";
}

/** Which button sent a form with more than one. */
const submitterOf = (e: Event) => ((e as SubmitEvent).submitter as HTMLButtonElement | null)?.value ?? "";

/** Applies a refused call's errors: the reason's at its field; anything else as a refusal. */
function refusedAt(
  err: unknown,
  setErrors: (m: Map<string, string>) => void,
  setRefusal: (e: unknown) => void,
  setProblem: (p: string) => void,
) {
  const ce = ConnectError.from(err);
  if (ce.code === Code.InvalidArgument) {
    const byField = fieldErrors(ce);
    const reason = byField.get("reason");
    setErrors(new Map(reason ? [["reason", reason]] : []));
    if (!reason) setProblem(ce.rawMessage);
  } else if (ce.code === Code.FailedPrecondition) {
    setProblem(`Not possible now: ${ce.rawMessage}.`);
  } else {
    setRefusal(err);
  }
}

/** One dead letter, decoded, with its Replay and Discard actions (a reason required, audited). */
function LetterItem(props: { letter: DeadLetter; onDone: (text: string) => void }) {
  const l = props.letter;
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [problem, setProblem] = useState<string>();
  const [refusal, setRefusal] = useState<unknown>();
  const form = useRef<HTMLFormElement>(null);
  const fieldId = `reason-${l.id.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const waiting = l.status === DeadLetterStatus.DEAD || l.status === DeadLetterStatus.REPLAYING;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const action = submitterOf(e) === "discard" ? "discard" : "replay";
    const reason = String(new FormData(e.currentTarget as HTMLFormElement).get("reason") ?? "").trim();
    setProblem(undefined);
    setRefusal(undefined);
    if (reason === "") {
      setErrors(new Map([["reason", `Enter why the letter is ${action === "replay" ? "replayed" : "discarded"}.`]]));
      form.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      return;
    }
    setErrors(new Map());
    setBusy(true);
    try {
      if (action === "replay") {
        const res = await operations.replayServiceDeadLetter({ id: l.id, reason });
        const after = res.deadLetter;
        props.onDone(
          after?.status === DeadLetterStatus.REPLAYED
            ? `Replayed ${l.eventType} in ${l.service}: handled.`
            : `Replayed ${l.eventType} in ${l.service}: it failed again (${after?.error ?? "no reason given"}).`,
        );
      } else {
        await operations.discardServiceDeadLetter({ id: l.id, reason });
        props.onDone(`Discarded ${l.eventType} in ${l.service}.`);
      }
    } catch (err) {
      refusedAt(err, setErrors, setRefusal, setProblem);
    } finally {
      setBusy(false);
    }
  };

  const headingId = `${fieldId}-heading`;
  return (
    <li class="letter" data-letter-id={l.id} data-letter-status={statusWord(l.status).toLowerCase()} aria-labelledby={headingId}>
      <h3 id={headingId}>
        {l.eventType} <span class="letter-service">in {l.service}</span>
      </h3>
      <dl class="facts">
        <dt>Key</dt>
        <dd>
          <code>{l.key}</code>
        </dd>
        <dt>From</dt>
        <dd>{l.source}</dd>
        <dt>Happened</dt>
        <dd>{when(l.eventTime)}</dd>
        <dt>Given up</dt>
        <dd>
          {when(l.deadLetteredAt)} after {l.attempts} {l.attempts === 1 ? "attempt" : "attempts"}
        </dd>
        <dt>Error</dt>
        <dd class="letter-error">{l.error || "none recorded"}</dd>
        <dt>Status</dt>
        <dd>
          {statusWord(l.status)}
          {l.resolvedBy ? ` by ${l.resolvedBy} ${when(l.resolvedAt)}: ${l.resolutionReason}` : ""}
        </dd>
      </dl>
      <details open>
        <summary>Payload</summary>
        <pre class="payload">{payloadText(l)}</pre>
      </details>
      {refusal !== undefined ? <Refusal err={refusal} what="acting on the dead letter" /> : null}
      {waiting ? (
        <form
          ref={form}
          class="form form-inline"
          noValidate
          onSubmit={submit}
          aria-busy={busy}
          aria-label={`Replay or discard ${l.eventType}`}
        >
          <Field id={fieldId} name="reason" label="Reason" required maxLength={200} error={errors.get("reason")} />
          <button type="submit" class="button-primary" name="action" value="replay" aria-disabled={busy || undefined}>
            Replay
          </button>
          <button type="submit" class="button-secondary" name="action" value="discard" aria-disabled={busy || undefined}>
            Discard
          </button>
        </form>
      ) : null}
      {problem ? (
        <p class="notice notice-error" role="alert">
          {problem}
        </p>
      ) : null}
    </li>
  );
}

/** Replays or discards every waiting letter of a service (or of every one) at once, with one reason (each audited). */
function EveryLetterForm(props: { service: string; onDone: (text: string) => void }) {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [problem, setProblem] = useState<string>();
  const [refusal, setRefusal] = useState<unknown>();
  const form = useRef<HTMLFormElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const action = submitterOf(e) === "discard" ? "discard" : "replay";
    const reason = String(new FormData(e.currentTarget as HTMLFormElement).get("reason") ?? "").trim();
    setProblem(undefined);
    setRefusal(undefined);
    if (reason === "") {
      setErrors(new Map([["reason", `Enter why every letter is ${action === "replay" ? "replayed" : "discarded"}.`]]));
      form.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      return;
    }
    setErrors(new Map());
    setBusy(true);
    try {
      if (action === "replay") {
        const { items } = await operations.replayAllDeadLetters({ service: props.service, reason });
        const handled = items.filter((l) => l.status === DeadLetterStatus.REPLAYED).length;
        props.onDone(
          `Replayed ${items.length} ${items.length === 1 ? "letter" : "letters"}: ${handled} handled, ${items.length - handled} failed again.`,
        );
      } else {
        const { items } = await operations.discardAllDeadLetters({ service: props.service, reason });
        props.onDone(`Discarded ${items.length} ${items.length === 1 ? "letter" : "letters"}.`);
      }
      form.current?.reset();
    } catch (err) {
      refusedAt(err, setErrors, setRefusal, setProblem);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      {refusal !== undefined ? <Refusal err={refusal} what="acting on every dead letter" /> : null}
      <form
        ref={form}
        class="form form-inline"
        noValidate
        onSubmit={submit}
        aria-busy={busy}
        aria-label={props.service ? `Every waiting letter of ${props.service}` : "Every waiting letter"}
      >
        <Field
          id="all-reason"
          name="reason"
          label={`Reason for every waiting letter${props.service ? ` of ${props.service}` : ""}`}
          required
          maxLength={200}
          error={errors.get("reason")}
        />
        <button type="submit" class="button-secondary" name="action" value="replay" aria-disabled={busy || undefined}>
          Replay all
        </button>
        <button type="submit" class="button-secondary" name="action" value="discard" aria-disabled={busy || undefined}>
          Discard all
        </button>
      </form>
      {problem ? (
        <p class="notice notice-error" role="alert">
          {problem}
        </p>
      ) : null}
    </div>
  );
}
