/**
 * The mesh's certificates kept in Kubernetes Secrets, through the API server with the pod's
 * service account (the Helm chart's hook Job and renewal CronJob): read into a folder, brought up
 * to date there, and what changed written back.
 */
import { readFile, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { env, type EnsureMeshResult, loadConfig, meshFiles } from "@shopmesh/platform";

const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount";

const kubeSchema = {
  KUBERNETES_SERVICE_HOST: env.string({ doc: "the API server's address, set by Kubernetes in every pod" }),
  KUBERNETES_SERVICE_PORT: env.port({ doc: "the API server's port, set by Kubernetes in every pod", default: 443 }),
};

interface Api {
  get(name: string): Promise<Record<string, string> | undefined>;
  put(name: string, data: Record<string, string>): Promise<void>;
}

async function api(): Promise<Api> {
  const cfg = loadConfig(kubeSchema);
  const [token, ca, namespace] = await Promise.all(["token", "ca.crt", "namespace"].map((f) => readFile(join(serviceAccount, f), "utf8")));
  const base = `/api/v1/namespaces/${(namespace as string).trim()}/secrets`;
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: cfg.KUBERNETES_SERVICE_HOST,
          port: cfg.KUBERNETES_SERVICE_PORT,
          method,
          path,
          ca,
          headers: { authorization: `Bearer ${(token as string).trim()}`, "content-type": "application/json", accept: "application/json" },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const fail = (what: string, r: { status: number; body: string }) => new Error(`${what}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return {
    async get(name) {
      const r = await call("GET", `${base}/${name}`);
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw fail(`reading Secret ${name}`, r);
      const data = (JSON.parse(r.body) as { data?: Record<string, string> }).data ?? {};
      return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    },
    async put(name, data) {
      const secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, labels: { "app.kubernetes.io/part-of": "shopmesh", "app.kubernetes.io/component": "mesh-tls" } },
        type: "Opaque",
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")])),
      };
      const replaced = await call("PUT", `${base}/${name}`, secret);
      if (replaced.status === 200 || replaced.status === 201) return;
      if (replaced.status !== 404) throw fail(`writing Secret ${name}`, replaced);
      const created = await call("POST", base, secret);
      if (created.status !== 201 && created.status !== 200) throw fail(`creating Secret ${name}`, created);
    },
  };
}

/**
 * Reads `<prefix>-ca` and `<prefix>-<workload>` into `work`, runs `ensure` on it, and writes back
 * the Secrets of what it issued (all of them after a new CA). Resolves to the Secrets written.
 */
export async function syncSecrets(
  prefix: string,
  workloads: readonly string[],
  work: string,
  ensure: () => Promise<EnsureMeshResult>,
): Promise<string[]> {
  const kube = await api();
  const files = meshFiles(work);
  const caName = `${prefix}-ca`;
  const ca = await kube.get(caName);
  if (ca?.["ca.crt"] && ca["ca.key"]) {
    await writeFile(files.ca, ca["ca.crt"], { mode: 0o644 });
    await writeFile(files.caKey, ca["ca.key"], { mode: 0o600 });
  }
  for (const w of workloads) {
    const s = await kube.get(`${prefix}-${w}`);
    if (s?.["tls.crt"] && s["tls.key"]) {
      await writeFile(files.cert(w), s["tls.crt"], { mode: 0o644 });
      await writeFile(files.key(w), s["tls.key"], { mode: 0o600 });
    }
  }
  const result = await ensure();
  const written: string[] = [];
  const caCert = await readFile(files.ca, "utf8");
  if (result.caIssued) {
    await kube.put(caName, { "ca.crt": caCert, "ca.key": await readFile(files.caKey, "utf8") });
    written.push(caName);
  }
  for (const w of result.issued) {
    const name = `${prefix}-${w}`;
    await kube.put(name, {
      "tls.crt": await readFile(files.cert(w), "utf8"),
      "tls.key": await readFile(files.key(w), "utf8"),
      "ca.crt": caCert,
    });
    written.push(name);
  }
  return written;
}
