import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceNames } from "../../distributed-mesh.js";
import { describeNeeding } from "@shopmesh/platform/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { kafkaAccess } from "./kafka-access.js";
import { aclScriptAccess, rolesScriptServices } from "./access-scripts.js";
import { chartPath, helm, helmMissing, renderChart } from "./helm.js";
import {
  type Env,
  envProblems,
  listeningPort,
  migrationSchema,
  processOfCommand,
  processes,
  readRepoFile,
  readYaml,
  repoPath,
  serviceOfMigrateCommand,
} from "./processes.js";

type K8sObject = Record<string, any>;

/** Validates an object against the Kubernetes API's schema of its kind (kubernetes-models). */
const require = createRequire(import.meta.url);
function k8sSchemaProblem(o: K8sObject): string | undefined {
  let Model: (new (data: unknown) => { validate(): void }) | undefined;
  try {
    Model = (require(`kubernetes-models/${o.apiVersion}/${o.kind}`) as Record<string, typeof Model>)[o.kind];
  } catch {
    return `${o.apiVersion} ${o.kind} is not a Kubernetes kind`;
  }
  try {
    new (Model as new (data: unknown) => { validate(): void })(o).validate();
    return undefined;
  } catch (err) {
    return `${o.kind} ${o.metadata?.name}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

/** The environment a container gets: its ConfigMaps (envFrom) and its own entries; Secrets by reference. */
function containerEnv(container: K8sObject, objects: K8sObject[]): Env {
  const env = new Map<string, { value: string } | { secret: string }>();
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    const cm = ofKind(objects, "ConfigMap").find((c) => c.metadata.name === name);
    if (!cm) throw new Error(`envFrom ${JSON.stringify(from)}: not a ConfigMap of the chart (its variables cannot be checked)`);
    for (const [k, v] of Object.entries(cm.data ?? {})) env.set(k, { value: String(v) });
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef) env.set(e.name, { secret: `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}` });
    else if (e.valueFrom) throw new Error(`${e.name}: valueFrom other than a Secret`);
    else env.set(e.name, { value: String(e.value ?? "") });
  }
  return env;
}

const literal = (env: Env, name: string) => {
  const e = env.get(name);
  return e && "value" in e ? e.value : undefined;
};

const podSpec = (o: K8sObject): K8sObject => o.spec.template.spec;
const mainContainer = (o: K8sObject): K8sObject => podSpec(o).containers[0];

/** The Service that selects a Deployment's pods, and its port for a container port. */
function serviceFor(deployment: K8sObject, objects: K8sObject[]) {
  const labels: Record<string, string> = deployment.spec.template.metadata.labels;
  const matching = ofKind(objects, "Service").filter((s) => Object.entries(s.spec.selector ?? {}).every(([k, v]) => labels[k] === v));
  return matching;
}

function containerPortNumber(container: K8sObject, ref: string | number): number | undefined {
  return typeof ref === "number" ? ref : container.ports?.find((p: K8sObject) => p.name === ref)?.containerPort;
}

const everything = (() => {
  const args: string[] = ["--set", "fullnameOverride=shop", "--set", "catalog.env.CATALOG_CACHE_SIZE=0"];
  for (const p of processes) args.push("--set", `${p.name}.autoscaling.enabled=true`);
  args.push(
    "--set",
    "metrics.serviceMonitor.enabled=true",
    "--set",
    "tracing.otlpEndpoint=http://collector:4318",
    "--set",
    "notification.smtp.secretName=smtp",
    "--set",
    "payment.database.secretName=payment-db",
    "--set",
    "payment.database.secretKey=url",
    "--set-string",
    "payment.env.PAYMENT_FAILURE_RATE=0.1",
    "--set",
    "cart.env.DB_SCHEMA=carts",
    "--set",
    "auth.secretEnv.AUTH_ISSUER.name=issuer",
    "--set",
    "auth.secretEnv.AUTH_ISSUER.key=iss",
    "--set",
    "ingress.enabled=true",
  );
  return args;
})();

const valueSets: Record<string, string[]> = {
  "the default values": [],
  "helm/example-values.yaml": ["-f", repoPath("helm/example-values.yaml")],
  "autoscaling, a ServiceMonitor, an Ingress, Secrets and overrides everywhere": everything,
};

describeNeeding("helm/shopmesh", helmMissing(), () => {
  it("passes helm lint --strict with the default values and with the example values", async () => {
    for (const args of [[], ["-f", repoPath("helm/example-values.yaml")]]) {
      const r = await helm(["lint", "--strict", chartPath, ...args]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
  });

  for (const [label, args] of Object.entries(valueSets)) {
    describe(`rendered with ${label}`, () => {
      let objects: K8sObject[] = [];
      beforeAll(async () => {
        objects = await renderChart(args);
      });
      const deployments = () => ofKind(objects, "Deployment");

      it("renders objects that the Kubernetes API schema accepts, all in the release's namespace or cluster-less", () => {
        expect(objects.length).toBeGreaterThan(0);
        const problems = objects
          .filter((o) => o.apiVersion !== "monitoring.coreos.com/v1")
          .map(k8sSchemaProblem)
          .filter(Boolean);
        expect(problems).toEqual([]);
        expect(ofKind(objects, "Secret"), "the chart makes no Secret: they are referenced, never given values").toEqual([]);
      });

      it("runs every service and the edge once, with the command npm run start:distributed runs", () => {
        const run = deployments().map((d) => processOfCommand(mainContainer(d).command)?.name);
        expect(run.sort()).toEqual(processes.map((p) => p.name).sort());
      });

      it("gives every Deployment probes, resources and a non-root, read-only security context", () => {
        for (const d of deployments()) {
          const name = d.metadata.name;
          const pod = podSpec(d);
          const c = mainContainer(d);
          const p = processOfCommand(c.command);
          if (!p) throw new Error(`${name} runs ${c.command}`);
          const port = listeningPort(p, containerEnv(c, objects));
          for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
            if (p.name === "edge") {
              expect(containerPortNumber(c, c[probe]?.httpGet?.port), `${name} ${probe}`).toBe(port);
            } else {
              // The admin server: the gRPC port takes mutual TLS only, which kubelet probes cannot speak.
              expect(containerPortNumber(c, c[probe]?.httpGet?.port), `${name} ${probe}`).toBe(
                Number(literal(containerEnv(c, objects), "METRICS_PORT")),
              );
            }
          }
          expect(c.readinessProbe.httpGet.path).toBe("/readyz");
          expect(c.resources?.requests?.cpu, name).toBeDefined();
          expect(c.resources?.requests?.memory, name).toBeDefined();
          expect(c.resources?.limits?.memory, name).toBeDefined();
          expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
          expect(pod.securityContext?.runAsUser, name).toBeGreaterThan(0);
          expect(c.securityContext).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          });
          expect(pod.enableServiceLinks, `${name}: no service-link variables`).toBe(false);
        }
      });

      it("gives every process only variables its config schema reads, every one it needs, and values it accepts", () => {
        const problems = Object.fromEntries(
          deployments().map((d) => {
            const c = mainContainer(d);
            const p = processOfCommand(c.command);
            return [d.metadata.name, p ? envProblems(p.schema, containerEnv(c, objects)) : ["runs no known process"]];
          }),
        );
        expect(problems).toEqual(Object.fromEntries(deployments().map((d) => [d.metadata.name, []])));
      });

      it("points every <PEER>_ADDR at the Service of that process, on the port it listens on", () => {
        const byProcess = new Map(deployments().map((d) => [processOfCommand(mainContainer(d).command)?.name, d]));
        for (const d of deployments()) {
          for (const [name, e] of containerEnv(mainContainer(d), objects)) {
            if (!name.endsWith("_ADDR") || !("value" in e)) continue;
            const peer = byProcess.get(name.slice(0, -"_ADDR".length).toLowerCase() as never);
            expect(peer, `${d.metadata.name}: ${name}`).toBeDefined();
            if (!peer) continue;
            const pc = mainContainer(peer);
            const p = processOfCommand(pc.command);
            if (!p) continue;
            const listening = listeningPort(p, containerEnv(pc, objects));
            const [svc] = serviceFor(peer, objects);
            const svcPort = svc?.spec.ports.find((sp: K8sObject) => containerPortNumber(pc, sp.targetPort) === listening)?.port;
            expect(e.value, `${d.metadata.name}: ${name}`).toBe(`${svc?.metadata.name}:${svcPort}`);
          }
        }
      });

      it("puts one Service in front of each Deployment, with the process's port and its admin port", () => {
        for (const d of deployments()) {
          const services = serviceFor(d, objects);
          expect(
            services.map((s) => s.metadata.name),
            d.metadata.name,
          ).toHaveLength(1);
          const c = mainContainer(d);
          const targets = services[0]?.spec.ports.map((sp: K8sObject) => containerPortNumber(c, sp.targetPort)).sort();
          const p = processOfCommand(c.command);
          const env = containerEnv(c, objects);
          if (!p) continue;
          expect(targets, d.metadata.name).toEqual([listeningPort(p, env), Number(literal(env, "METRICS_PORT") ?? 9464)].sort());
        }
      });

      it("gives each Deployment a PodDisruptionBudget, and an autoscaler when autoscaling is on, which then owns replicas", () => {
        for (const d of deployments()) {
          const labels = d.spec.template.metadata.labels;
          const pdbs = ofKind(objects, "PodDisruptionBudget").filter((b) =>
            Object.entries(b.spec.selector.matchLabels).every(([k, v]) => labels[k] === v),
          );
          expect(pdbs, d.metadata.name).toHaveLength(1);
          const hpa = ofKind(objects, "HorizontalPodAutoscaler").find((h) => h.spec.scaleTargetRef.name === d.metadata.name);
          if (hpa) {
            expect(hpa.spec.scaleTargetRef.kind).toBe("Deployment");
            expect(d.spec.replicas, `${d.metadata.name} leaves replicas to its autoscaler`).toBeUndefined();
          } else {
            expect(d.spec.replicas, d.metadata.name).toBeGreaterThan(0);
          }
        }
      });

      it("stops a pod within its termination grace: the preStop pause, SHUTDOWN_GRACE_MS, then time to close", () => {
        for (const d of deployments()) {
          const c = mainContainer(d);
          const pause = Number(c.lifecycle?.preStop?.exec?.command?.[1]);
          expect(c.lifecycle.preStop.exec.command[0]).toBe("sleep");
          const env = containerEnv(c, objects);
          const p = processOfCommand(c.command);
          // The edge lets requests finish for a fixed 10 s.
          const graceMs = Number(literal(env, "SHUTDOWN_GRACE_MS") ?? p?.schema.SHUTDOWN_GRACE_MS?.default ?? 10_000);
          expect(podSpec(d).terminationGracePeriodSeconds, d.metadata.name).toBeGreaterThanOrEqual(pause + graceMs / 1000 + 5);
        }
      });

      it("migrates each service's database in a pre-install/pre-upgrade Job that reads only what that service declares", () => {
        const jobs = ofKind(objects, "Job").filter((j) => serviceOfMigrateCommand(mainContainer(j).command));
        expect(jobs.map((j) => serviceOfMigrateCommand(mainContainer(j).command)).sort()).toEqual([...serviceNames].sort());
        for (const j of jobs) {
          const service = serviceOfMigrateCommand(mainContainer(j).command);
          if (!service) continue;
          expect(j.metadata.annotations["helm.sh/hook"].split(",").sort()).toEqual(["pre-install", "pre-upgrade"]);
          expect(podSpec(j).restartPolicy).toBe("Never");
          expect(podSpec(j).securityContext.runAsNonRoot).toBe(true);
          expect(envProblems(migrationSchema(service), containerEnv(mainContainer(j), objects)), j.metadata.name).toEqual([]);
          // The same database as the service's pods.
          const d = deployments().find((x) => processOfCommand(mainContainer(x).command)?.name === service);
          expect(containerEnv(mainContainer(j), objects).get("DATABASE_URL")).toEqual(
            d && containerEnv(mainContainer(d), objects).get("DATABASE_URL"),
          );
        }
      });

      it("mounts each process's own certificate Secret, read-only, where its SHOPMESH_TLS_DIR points, under the names it reads", () => {
        for (const d of deployments()) {
          const c = mainContainer(d);
          const p = processOfCommand(c.command);
          if (!p) throw new Error(`${d.metadata.name} runs ${c.command}`);
          const dir = literal(containerEnv(c, objects), "SHOPMESH_TLS_DIR");
          const mount = c.volumeMounts.find((m: K8sObject) => m.mountPath === dir);
          expect(mount?.readOnly, d.metadata.name).toBe(true);
          const secret = podSpec(d).volumes.find((v: K8sObject) => v.name === mount?.name)?.secret;
          expect(secret?.secretName, d.metadata.name).toMatch(new RegExp(`-tls-${p.name}$`));
          expect(secret.items.map((i: K8sObject) => i.path).sort()).toEqual([`${p.name}.crt`, `${p.name}.key`, "ca.crt"].sort());
        }
      });

      it("issues the certificates into those Secrets in a pre-install/pre-upgrade Job before the other hooks, and renews them in a CronJob", () => {
        const issuer = (o: K8sObject) => mainContainer(o).command?.includes("launcher/dist/issue-certs.js");
        const job = ofKind(objects, "Job").find(issuer);
        expect(job?.metadata.annotations["helm.sh/hook"].split(",").sort()).toEqual(["pre-install", "pre-upgrade"]);
        const weight = (o: K8sObject) => Number(o.metadata.annotations?.["helm.sh/hook-weight"] ?? 0);
        for (const other of ofKind(objects, "Job").filter((j) => !issuer(j))) expect(weight(job as K8sObject)).toBeLessThan(weight(other));
        const cron = ofKind(objects, "CronJob")[0];
        expect(cron?.spec.jobTemplate.spec.template.spec.containers[0].command).toEqual(mainContainer(job as K8sObject).command);
        const command: string[] = mainContainer(job as K8sObject).command;
        const prefix = command[command.indexOf("--secrets") + 1];
        for (const d of deployments()) {
          const name = processOfCommand(mainContainer(d).command)?.name;
          expect(
            podSpec(d).volumes.some((v: K8sObject) => v.secret?.secretName === `${prefix}-${name}`),
            d.metadata.name,
          ).toBe(true);
        }
        // Its service account may touch Secrets only.
        const role = ofKind(objects, "Role").find((r) => r.metadata.name === podSpec(job as K8sObject).serviceAccountName);
        expect(role?.rules.flatMap((r: K8sObject) => r.resources)).toEqual(["secrets"]);
      });

      it("takes DATABASE_URL and SMTP_URL from Secrets only", () => {
        for (const o of [...deployments(), ...ofKind(objects, "Job")]) {
          const env = containerEnv(mainContainer(o), objects);
          for (const name of ["DATABASE_URL", "SMTP_URL"]) {
            const e = env.get(name);
            if (e) expect("secret" in e, `${o.metadata.name}: ${name}`).toBe(true);
          }
        }
      });
    });
  }

  it("routes the Ingress to the edge's HTTP port, and the ServiceMonitor to every process's admin port, keeping its labels", async () => {
    const objects = await renderChart(everything);
    const [ingress] = ofKind(objects, "Ingress");
    const backend = ingress?.spec.rules[0].http.paths[0].backend.service;
    const edge = ofKind(objects, "Service").find((s) => s.metadata.name === backend?.name);
    expect(edge?.spec.ports.map((p: K8sObject) => p.name)).toContain(backend?.port.name);
    expect(edge?.spec.selector["app.kubernetes.io/name"]).toBe("edge");
    const [monitor] = ofKind(objects, "ServiceMonitor");
    const selected = ofKind(objects, "Service").filter((s) =>
      Object.entries(monitor?.spec.selector.matchLabels ?? {}).every(([k, v]) => s.metadata.labels[k] === v),
    );
    expect(selected).toHaveLength(processes.length);
    for (const s of selected) expect(s.spec.ports.map((p: K8sObject) => p.name)).toContain(monitor?.spec.endpoints[0].port);
    // The dashboard and alert rules select on the processes' own `service` label.
    expect(monitor?.spec.endpoints[0].honorLabels).toBe(true);
  });

  it("has the edge trust one proxy hop of X-Forwarded-For behind the ingress, and none without it", async () => {
    const edgeEnv = (objects: K8sObject[]) => {
      const deployment = ofKind(objects, "Deployment").find((d) => d.metadata.labels["app.kubernetes.io/name"] === "edge");
      return containerEnv(deployment?.spec.template.spec.containers[0], objects);
    };
    expect(edgeEnv(await renderChart(["--set", "ingress.enabled=true"])).get("EDGE_TRUSTED_PROXY_HOPS")).toEqual({ value: "1" });
    expect(edgeEnv(await renderChart()).get("EDGE_TRUSTED_PROXY_HOPS")).toBeUndefined();
    const overridden = await renderChart(["--set", "ingress.enabled=true", "--set-string", "edge.env.EDGE_TRUSTED_PROXY_HOPS=2"]);
    expect(edgeEnv(overridden).get("EDGE_TRUSTED_PROXY_HOPS")).toEqual({ value: "2" });
  });

  it("ships deploy/prometheus/alerts.yml as a PrometheusRule and deploy/grafana/dashboards/*.json in a dashboard ConfigMap", async () => {
    const objects = await renderChart(["--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.grafanaDashboards.enabled=true"]);
    // The chart's files/prometheus and files/grafana are links to deploy/: what exists there is what the chart ships.
    const alerts = existsSync(repoPath("deploy/prometheus/alerts.yml")) ? readYaml("deploy/prometheus/alerts.yml") : undefined;
    expect(ofKind(objects, "PrometheusRule").map((r) => r.spec)).toEqual(alerts === undefined ? [] : [alerts]);
    const dir = repoPath("deploy/grafana/dashboards");
    const dashboards = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
    const configMaps = ofKind(objects, "ConfigMap").filter((c) => c.metadata.labels.grafana_dashboard === "1");
    expect(configMaps.map((c) => c.data)).toEqual(
      dashboards.length === 0 ? [] : [Object.fromEntries(dashboards.map((f) => [f, readRepoFile(`deploy/grafana/dashboards/${f}`)]))],
    );
    const off = await renderChart();
    expect(ofKind(off, "PrometheusRule")).toEqual([]);
    expect(ofKind(off, "ConfigMap").filter((c) => c.metadata.labels.grafana_dashboard)).toEqual([]);
  });

  it("leaves out the migration, topic and ACL Jobs when told to", async () => {
    const objects = await renderChart([
      "--set",
      "database.migrate=false",
      "--set",
      "kafka.topics.create=false",
      "--set",
      "kafka.acls.create=false",
    ]);
    expect(ofKind(objects, "Job").map((j) => j.metadata.name)).toEqual(["shopmesh-tls-issue"]);
  });

  it("with cert-manager, has a Certificate per workload naming it, for the Secret each Deployment mounts, and no issuer Job", async () => {
    const objects = await renderChart(["--set", "tls.certManager.enabled=true"]);
    expect(ofKind(objects, "Job").filter((j) => j.metadata.name.endsWith("-tls-issue"))).toEqual([]);
    expect(ofKind(objects, "CronJob")).toEqual([]);
    const certificates = ofKind(objects, "Certificate").filter((c) => !c.spec.isCA);
    for (const d of ofKind(objects, "Deployment")) {
      const name = processOfCommand(mainContainer(d).command)?.name;
      const secret = podSpec(d).volumes.find((v: K8sObject) => v.name === "tls")?.secret?.secretName;
      const certificate = certificates.find((c) => c.spec.secretName === secret);
      expect(certificate?.spec.uris, d.metadata.name).toEqual([`spiffe://shopmesh/${name}`]);
      expect(certificate?.spec.usages).toEqual(expect.arrayContaining(["server auth", "client auth"]));
    }
    expect(certificates.map((c) => c.spec.uris[0]).sort()).toEqual(
      ["auth", "cart", "catalog", "edge", "notification", "operator-cli", "order", "payment", "reconcile"].map(
        (w) => `spiffe://shopmesh/${w}`,
      ),
    );
  });

  it("has each service authenticate to Kafka as its own principal, and grants it by ACL what its code needs, as docker compose does", async () => {
    const objects = await renderChart(["--set", "kafka.tls.enabled=true", "--set", "kafka.tls.caSecretName=kafka-ca"]);
    for (const d of ofKind(objects, "Deployment")) {
      const c = mainContainer(d);
      const p = processOfCommand(c.command);
      if (!p || p.name === "edge") continue;
      const env = containerEnv(c, objects);
      expect(literal(env, "KAFKA_SASL_MECHANISM"), p.name).toBe("scram-sha-512");
      expect(literal(env, "KAFKA_SASL_USERNAME"), p.name).toBe(p.name);
      expect(env.get("KAFKA_SASL_PASSWORD"), p.name).toEqual({ secret: `shopmesh-kafka/${p.name}` });
      expect(literal(env, "KAFKA_SSL"), p.name).toBe("true");
      // The CA file it is given is the Secret's ca.crt, mounted.
      const caFile = literal(env, "KAFKA_SSL_CA_FILE") ?? "";
      const mount = c.volumeMounts.find((m: K8sObject) => caFile.startsWith(`${m.mountPath}/`));
      const volume = podSpec(d).volumes.find((v: K8sObject) => v.name === mount?.name);
      expect(volume?.secret?.secretName, p.name).toBe("kafka-ca");
      expect(volume?.secret?.items, p.name).toEqual([{ key: "ca.crt", path: caFile.slice(mount.mountPath.length + 1) }]);
    }
    const jobs = ofKind(objects, "Job").filter((j) => mainContainer(j).command[0] === "bash");
    const acls = jobs.find((j) => mainContainer(j).command[2] === readRepoFile("deploy/kafka/create-acls.sh"));
    expect(acls, "a Job runs deploy/kafka/create-acls.sh").toBeDefined();
    const topics = jobs.find((j) => mainContainer(j).command[2] === readRepoFile("deploy/kafka/create-topics.sh"));
    // After the topics exist, as the admin principal, over TLS too.
    expect(Number(acls?.metadata.annotations["helm.sh/hook-weight"])).toBeGreaterThan(
      Number(topics?.metadata.annotations["helm.sh/hook-weight"]),
    );
    for (const job of [acls, topics]) {
      if (!job) throw new Error("the topic or ACL Job is missing");
      const env = containerEnv(mainContainer(job), objects);
      expect(env.get("KAFKA_ADMIN_USERNAME")).toEqual({ secret: "shopmesh-kafka-admin/username" });
      expect(env.get("KAFKA_ADMIN_PASSWORD")).toEqual({ secret: "shopmesh-kafka-admin/password" });
      expect(literal(env, "KAFKA_ADMIN_TLS")).toBe("true");
    }
    expect(aclScriptAccess(readRepoFile("deploy/kafka/create-acls.sh"))).toEqual(kafkaAccess());

    const refused = await helm(["template", "shopmesh", chartPath, "--set", "kafka.sasl.mechanism="]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("kafka.sasl.mechanism");
  });

  it("makes each service's database and its own role before the migrations, when asked, from Secrets only", async () => {
    expect(ofKind(await renderChart(), "Job").filter((j) => j.metadata.name.endsWith("-database-roles"))).toEqual([]);
    const objects = await renderChart(["--set", "database.roles.create=true"]);
    const script = readRepoFile("deploy/postgres/create-roles.sh");
    const [job] = ofKind(objects, "Job").filter((j) => mainContainer(j).command[2] === script);
    expect(job, "a Job runs deploy/postgres/create-roles.sh").toBeDefined();
    const env = containerEnv(mainContainer(job), objects);
    expect(rolesScriptServices(script)).toEqual([...serviceNames]);
    expect(Object.fromEntries(env)).toEqual({
      PG_ADMIN_URL: { secret: "shopmesh-database-admin/url" },
      ...Object.fromEntries(serviceNames.map((s) => [`DB_PASSWORD_${s.toUpperCase()}`, { secret: `shopmesh-database-roles/${s}` }])),
    });
    const migrations = ofKind(objects, "Job").filter((j) => serviceOfMigrateCommand(mainContainer(j).command));
    for (const m of migrations) {
      expect(Number(job?.metadata.annotations["helm.sh/hook-weight"])).toBeLessThan(Number(m.metadata.annotations["helm.sh/hook-weight"]));
    }
  });

  it("refuses several catalog replicas with the per-process product cache on, and a grace period too short to drain", async () => {
    const catalog = await helm(["template", "shopmesh", chartPath, "--set", "catalog.replicas=2"]);
    expect(catalog.code).not.toBe(0);
    expect(catalog.stderr).toContain("CATALOG_CACHE_SIZE");
    const grace = await helm(["template", "shopmesh", chartPath, "--set", "shutdown.terminationGracePeriodSeconds=10"]);
    expect(grace.code).not.toBe(0);
    expect(grace.stderr).toContain("terminationGracePeriodSeconds");
  });

  it("packages with the files it links from deploy/ inside (topic script, alert rules, dashboards), and renders the same from the package", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shopmesh-chart-"));
    try {
      const r = await helm(["package", chartPath, "--destination", dir]);
      expect(r.code, r.stderr).toBe(0);
      const packaged = r.stdout.trim().split(" ").at(-1) ?? "";
      const all = ["--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.grafanaDashboards.enabled=true"];
      expect(await renderChart(all, packaged)).toEqual(await renderChart(all));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps secret values out of values.yaml, and docs/deployment.md shows helm install with the example values", () => {
    const values = readRepoFile("helm/shopmesh/values.yaml");
    expect(values).not.toMatch(/postgres(ql)?:\/\/|smtps?:\/\/|password|token/i);
    const readme = readRepoFile("docs/deployment.md");
    expect(readme).toMatch(/helm install \S+ \.\/helm\/shopmesh[^\n]* -f helm\/example-values\.yaml/);
  });
});
