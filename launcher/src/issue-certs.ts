/**
 * `node launcher/dist/issue-certs.js`: issues the mesh's CA and workload certificates where the
 * deployments want them (docker compose's init container, the Helm chart's hook Job and CronJob).
 *
 *   --dir <folder>              into a folder (ca.crt, ca.key, <workload>.crt, <workload>.key)
 *   --secrets <prefix>          into Kubernetes Secrets of the pod's namespace instead: <prefix>-ca
 *                               (ca.crt, ca.key) and <prefix>-<workload> (tls.crt, tls.key, ca.crt)
 *   --workloads a,b,…           default: every workload of the mesh
 *   --dns <pattern>             an extra DNS SAN per workload, `{workload}` replaced (repeatable)
 *   --lifetime-hours <n>        of a workload certificate; default 24
 *   --renew-minutes <n>         keep running and renew every n minutes (folder mode)
 *
 * Each run issues only what is missing or has less than a third of its lifetime left.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  ConfigError,
  createLogger,
  type EnsureMeshOptions,
  ensureMeshCertificates,
  isWorkloadName,
  meshWorkloads,
  runMain,
  startCertificateRenewer,
  stopOnSignals,
} from "@shopmesh/platform";
import { syncSecrets } from "./kube-secrets.js";

runMain(async () => {
  const { values } = parseArgs({
    options: {
      dir: { type: "string" },
      secrets: { type: "string" },
      workloads: { type: "string" },
      dns: { type: "string", multiple: true },
      "lifetime-hours": { type: "string" },
      "renew-minutes": { type: "string" },
    },
  });
  const logger = createLogger({ name: "issue-certs", level: "info" });
  const workloads = values.workloads ? values.workloads.split(",").map((w) => w.trim()) : [...meshWorkloads];
  const bad = workloads.filter((w) => !isWorkloadName(w));
  if (bad.length > 0) throw new ConfigError(`--workloads: not a workload name: ${bad.join(", ")}`);
  const hours = number(values["lifetime-hours"], "--lifetime-hours") ?? 24;
  const patterns = values.dns ?? [];
  const options = (dir: string): EnsureMeshOptions => ({
    dir,
    workloads,
    leafLifetimeMs: hours * 3_600_000,
    dnsNames: (w) => patterns.map((p) => p.replaceAll("{workload}", w)),
  });
  if ((values.dir === undefined) === (values.secrets === undefined)) throw new ConfigError("give either --dir or --secrets");

  if (values.secrets !== undefined) {
    const prefix = values.secrets;
    const work = await mkdtemp(join(tmpdir(), "shopmesh-certs-"));
    try {
      const written = await syncSecrets(prefix, workloads, work, () => ensureMeshCertificates(options(work)));
      logger.info({ written }, written.length > 0 ? "mesh certificates written to Secrets" : "mesh certificates current");
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return;
  }

  const dir = values.dir as string;
  const first = await ensureMeshCertificates(options(dir));
  logger.info({ dir, ...first }, "mesh certificates ready");
  const renewMinutes = number(values["renew-minutes"], "--renew-minutes");
  if (renewMinutes === undefined) return;
  const renewer = startCertificateRenewer({ ...options(dir), logger, intervalMs: renewMinutes * 60_000 });
  // The renewer's timer does not hold the process: this does, until a signal.
  const hold = setInterval(() => undefined, 1 << 30);
  stopOnSignals(async () => {
    clearInterval(hold);
    await renewer.stop();
  }, logger);
});

function number(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name}: expected a positive number, got "${raw}"`);
  return n;
}
