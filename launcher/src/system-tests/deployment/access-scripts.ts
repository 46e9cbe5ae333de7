/**
 * What the deployment's access scripts grant, read from the scripts themselves, for the tests to
 * hold against the code: deploy/kafka/create-acls.sh (each principal's Kafka rights) and
 * deploy/postgres/create-roles.sh (a database role per service).
 */
import type { KafkaAccess } from "./kafka-access.js";

/** The rights of create-acls.sh's ACCESS table, by principal. */
export function aclScriptAccess(script: string): Record<string, KafkaAccess> {
  const table = /^ACCESS=\(\n([\s\S]*?)\n\)/m.exec(script)?.[1];
  if (table === undefined) throw new Error("create-acls.sh has no ACCESS=( … ) table");
  const list = (cell: string | undefined) => (cell ? cell.split(",").sort() : []);
  return Object.fromEntries(
    [...table.matchAll(/^\s*"([^"]*)"\s*$/gm)].map((m) => {
      const [principal, group, writes, reads] = (m[1] ?? "").split(":");
      return [principal, { produce: list(writes), consume: list(reads), group: group === "-" ? undefined : group }];
    }),
  );
}

/** The services create-roles.sh makes a database and role for, in its order. */
export function rolesScriptServices(script: string): string[] {
  const list = /^SERVICES=\(([^)]*)\)/m.exec(script)?.[1];
  if (list === undefined) throw new Error("create-roles.sh has no SERVICES=( … ) list");
  return list.trim().split(/\s+/);
}
