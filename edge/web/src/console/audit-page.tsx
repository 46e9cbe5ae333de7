import { operations } from "../api.js";
import { Page } from "../components.js";
import { when } from "../format.js";
import { navigate } from "../router.js";
import { PagedTable } from "./paged-table.js";
import { useCall } from "./use-call.js";

const pageSize = 20;

function auditPath(filters: { service?: string; page?: string }): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const text = q.toString();
  return text ? `/admin/audit?${text}` : "/admin/audit";
}

/** "faults.set" → "faults set". */
const actionText = (action: string) => action.replaceAll(/[._]/g, " ");

/**
 * `/admin/audit?service=catalog&page=<token>`: the operator actions of every service (or one),
 * newest first, a page at a time (ListAllAudit): who, when, what on what, and why.
 */
export function ConsoleAuditPage(props: { query: URLSearchParams }) {
  const service = props.query.get("service") ?? "";
  const pageToken = props.query.get("page") ?? "";
  // The services to filter by are those the edge reports on.
  const [names] = useCall(() => operations.getEvents({}), []);
  const [audit, reload] = useCall(() => operations.listAllAudit({ service, pageSize, pageToken }), [service, pageToken]);
  const services = names.state === "done" ? names.value.services.map((s) => s.service) : service ? [service] : [];

  return (
    <Page title="Audit">
      <form
        class="form form-inline console-tools"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(auditPath({ service: String(new FormData(e.currentTarget as HTMLFormElement).get("service") ?? "") }));
        }}
      >
        <div class="field">
          <label for="audit-service">Service</label>
          <select id="audit-service" name="service" value={service}>
            <option value="">Every service</option>
            {services.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="button-secondary">
          Show
        </button>
      </form>
      <PagedTable
        page={audit}
        reload={reload}
        pageToken={pageToken}
        pageHref={(page) => auditPath({ service, page })}
        loading="the audit log"
        doing="reading the audit log"
        empty={`No operator actions${service ? ` in ${service}` : ""}.`}
        caption={`Operator actions${service ? ` in ${service}` : ""}, newest first`}
        pagerLabel="Pages of the audit log"
        columns={[{ label: "When" }, { label: "Service" }, { label: "Who" }, { label: "What" }, { label: "On" }, { label: "Why" }]}
        row={(a) => (
          <tr key={a.id} data-audit-id={a.id} data-action={a.action}>
            <td>{when(a.time)}</td>
            <td>{a.service}</td>
            <td>
              <code>{a.actor}</code>
            </td>
            <td>
              {actionText(a.action)}
              {a.details && Object.keys(a.details).length > 0 ? (
                <details>
                  <summary>Details</summary>
                  <pre class="payload">{JSON.stringify(a.details, null, 2)}</pre>
                </details>
              ) : null}
            </td>
            <td>
              <code>{a.target}</code>
            </td>
            <td class="audit-reason">{a.reason}</td>
          </tr>
        )}
      />
    </Page>
  );
}
