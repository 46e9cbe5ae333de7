import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AuditEntry,
  AuditEntrySchema,
  type DeadLetter,
  DeadLetterSchema,
  DeadLetterStatus,
  OperationsService,
} from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import type { Kysely } from "kysely";
import { failedPrecondition, violations } from "../errors.js";
import { type LiveFaults, noFaults } from "../faults/live-faults.js";
import { eventPayloadJson } from "../events/envelope.js";
import type { DeadLetterState } from "../events/inbox.js";
import { type ServiceRegistration, serviceRegistration } from "../grpc/service.js";
import { decodeKeysetToken, encodeKeysetToken } from "../paging/keyset-token.js";
import { type AuditEntryRow, listAudit, recordAudit } from "./audit.js";
import type { ConsumerDirectory } from "./consumers.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { type DeadLetterRow, discardDeadLetter, eventHealth, listDeadLetters, replayDeadLetter, waitingLetterIds } from "./dead-letters.js";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_REASON = 500;

const stateOf: Record<DeadLetterStatus, DeadLetterState> = {
  [DeadLetterStatus.UNSPECIFIED]: "dead",
  [DeadLetterStatus.DEAD]: "dead",
  [DeadLetterStatus.REPLAYED]: "replayed",
  [DeadLetterStatus.DISCARDED]: "discarded",
  [DeadLetterStatus.REPLAYING]: "replaying",
};
const statusOf: Record<DeadLetterState, DeadLetterStatus> = {
  dead: DeadLetterStatus.DEAD,
  replayed: DeadLetterStatus.REPLAYED,
  discarded: DeadLetterStatus.DISCARDED,
  replaying: DeadLetterStatus.REPLAYING,
};

/** A dead letter of `service` as the contract has it, its payload decoded from its Protobuf schema. */
export function deadLetterMessage(service: string, row: DeadLetterRow): DeadLetter {
  let payload: JsonObject | undefined;
  try {
    payload = eventPayloadJson(row.type, row.payload);
  } catch {
    payload = undefined; // bytes that do not parse as their type: shown as they are
  }
  return create(DeadLetterSchema, {
    id: row.event_id,
    service,
    group: row.group_name ?? "",
    eventType: row.type,
    eventId: row.event_id,
    key: row.key,
    source: row.source,
    error: row.error,
    attempts: row.attempts,
    eventTime: timestampFromDate(row.time),
    deadLetteredAt: timestampFromDate(row.created_at),
    payload,
    payloadBase64: payload === undefined ? Buffer.from(row.payload).toString("base64") : "",
    status: statusOf[row.status],
    resolvedBy: row.resolved_by ?? "",
    resolutionReason: row.resolution_reason ?? "",
    resolvedAt: row.resolved_at ? timestampFromDate(row.resolved_at) : undefined,
  });
}

function auditMessage(service: string, row: AuditEntryRow): AuditEntry {
  return create(AuditEntrySchema, {
    id: row.id,
    service,
    actor: row.actor,
    action: row.action,
    target: row.target,
    reason: row.reason,
    details: row.details as JsonObject,
    time: timestampFromDate(row.created_at),
  });
}

function pageSizeOf(v: ReturnType<typeof violations>, pageSize: number): number {
  if (pageSize < 0 || pageSize > 100) v.add("page_size", "must be from 1 to 100, or 0 for the default");
  return pageSize === 0 ? 20 : pageSize;
}

/** An operator action's reason, trimmed: required and bounded, for the audit log. */
function auditReason(v: ReturnType<typeof violations>, reason: string): string {
  const why = reason.trim();
  if (why === "") v.add("reason", "is required: say why, for the audit log");
  else if (why.length > MAX_REASON) v.add("reason", `must be at most ${MAX_REASON} characters`);
  return why;
}

function letterRequest(id: string, reason: string): { id: string; reason: string } {
  const v = violations();
  if (!uuid.test(id)) v.add("id", "must be a dead letter's id (an event id) as listed");
  const why = auditReason(v, reason);
  v.throwIfAny();
  return { id: id.toLowerCase(), reason: why };
}

function batchRequest(req: { reason: string; limit: number }): { reason: string; limit: number } {
  const v = violations();
  const why = auditReason(v, req.reason);
  if (req.limit < 0 || req.limit > 500) v.add("limit", "must be from 1 to 500, or 0 for the default");
  v.throwIfAny();
  return { reason: why, limit: req.limit === 0 ? 100 : req.limit };
}

/** `act` on each id in turn; a letter another operator resolved meanwhile (FAILED_PRECONDITION) is left out. */
async function eachLetter(ids: readonly string[], act: (id: string) => Promise<DeadLetterRow>): Promise<DeadLetterRow[]> {
  const out: DeadLetterRow[] = [];
  for (const id of ids) {
    try {
      out.push(await act(id));
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.FailedPrecondition) continue;
      throw err;
    }
  }
  return out;
}

/**
 * shop.ops.v1.OperationsService of one service, over its schema: `defineService` registers it on
 * every service's server, behind the contract's operator policy.
 */
export function operationsRegistration(opts: {
  service: string;
  db: Kysely<any>;
  consumers: ConsumerDirectory;
  /** The faults an operator may switch live; none in production. */
  liveFaults?: LiveFaults | undefined;
}): ServiceRegistration {
  const { service, db, consumers, liveFaults } = opts;
  return serviceRegistration(OperationsService, {
    async getEventHealth() {
      const h = await eventHealth(db);
      return {
        health: {
          service,
          outboxBacklog: BigInt(h.backlog),
          oldestUnpublishedAgeSeconds: h.oldestAgeSeconds,
          deadLetters: BigInt(h.deadLetters),
          reachable: true,
        },
      };
    },
    async listDeadLetters(req) {
      const v = violations();
      const limit = pageSizeOf(v, req.pageSize);
      const after = v.parse(() => decodeKeysetToken(req.pageToken), undefined);
      v.throwIfAny();
      const rows = await listDeadLetters(db, stateOf[req.status] ?? "dead", limit + 1, after);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((r) => deadLetterMessage(service, r)),
        nextPageToken: rows.length > limit && last ? encodeKeysetToken({ createdAt: last.created_at, id: last.event_id }) : "",
      };
    },
    async replayDeadLetter(req) {
      const row = await replayDeadLetter(db, consumers, { ...letterRequest(req.id, req.reason), service });
      return { deadLetter: deadLetterMessage(service, row) };
    },
    async discardDeadLetter(req) {
      const row = await discardDeadLetter(db, { ...letterRequest(req.id, req.reason), service });
      return { deadLetter: deadLetterMessage(service, row) };
    },
    async replayDeadLetters(req) {
      const { reason, limit } = batchRequest(req);
      const ids = await waitingLetterIds(db, req.eventType, limit);
      const rows = await eachLetter(ids, (id) => replayDeadLetter(db, consumers, { id, reason, service }));
      return { items: rows.map((r) => deadLetterMessage(service, r)) };
    },
    async discardDeadLetters(req) {
      const { reason, limit } = batchRequest(req);
      const ids = await waitingLetterIds(db, req.eventType, limit);
      const rows = await eachLetter(ids, (id) => discardDeadLetter(db, { id, reason, service }));
      return { items: rows.map((r) => deadLetterMessage(service, r)) };
    },
    async getFaults() {
      return { service, faults: liveFaults?.settings() ?? noFaults, switchable: liveFaults !== undefined };
    },
    async setFaults(req) {
      const v = violations();
      const reason = auditReason(v, req.reason);
      v.throwIfAny();
      if (!liveFaults) throw failedPrecondition(`faults cannot be switched in ${service}: it runs with NODE_ENV=production`);
      const before = liveFaults.settings();
      const f = req.faults;
      const faults = liveFaults.replace(f ? { calls: f.calls, events: f.events, provider: f.provider, broker: f.broker } : noFaults);
      try {
        await recordAudit(db, { action: "faults.set", target: service, reason, details: { before, after: faults } });
      } catch (err) {
        liveFaults.replace(before); // not recorded, not switched
        throw err;
      }
      return { faults };
    },
    async listAudit(req) {
      const v = violations();
      const limit = pageSizeOf(v, req.pageSize);
      const after = v.parse(() => decodeKeysetToken(req.pageToken), undefined);
      v.throwIfAny();
      const rows = await listAudit(db, limit + 1, after);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((r) => auditMessage(service, r)),
        nextPageToken: rows.length > limit && last ? encodeKeysetToken({ createdAt: last.created_at, id: last.id }) : "",
      };
    },
  });
}
