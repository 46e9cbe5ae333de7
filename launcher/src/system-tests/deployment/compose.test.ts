import { describeWithPromtool, promtool } from "@shopmesh/platform/testing";
import { describe, expect, it } from "vitest";
import { kafkaAccess } from "./kafka-access.js";
import { serviceNames } from "../../service-databases.js";
import { aclScriptAccess, rolesScriptServices } from "./access-scripts.js";
import {
  type DeployedProcess,
  type Env,
  envProblems,
  listeningPort,
  processes,
  processOfCommand,
  readRepoFile,
  readYaml,
  repoPath,
  scriptExists,
} from "./processes.js";

interface ComposeService {
  image?: string;
  build?: string | { context?: string };
  command?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
}

const compose = readYaml("docker-compose.yml") as { services: Record<string, ComposeService> };
const services = compose.services;

function envOf(s: ComposeService): Env {
  const pairs: Array<[string, string]> = Array.isArray(s.environment)
    ? s.environment.map((kv) => {
        const i = kv.indexOf("=");
        return [kv.slice(0, i), kv.slice(i + 1)];
      })
    : Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v ?? "")]);
  return new Map(pairs.map(([k, v]) => [k, { value: v }]));
}

function literal(env: Env, name: string): string | undefined {
  const e = env.get(name);
  return e && "value" in e ? e.value : undefined;
}

function dependsOn(s: ComposeService): Record<string, string> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, "service_started"]));
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([d, c]) => [d, c.condition ?? "service_started"]));
}

/** The compose services that run one of the processes, by process name. */
const running = new Map<string, { service: string; def: ComposeService; process: DeployedProcess }>();
for (const [service, def] of Object.entries(services)) {
  const process = processOfCommand(def.command);
  if (process) running.set(process.name, { service, def, process });
}
const each = () => [...running.values()];

/** host:port of a URL or address. */
function hostPort(address: string): { host: string; port: number } {
  const u = new URL(address.includes("://") ? address : `tcp://${address}`);
  return { host: u.hostname, port: Number(u.port) };
}

function seconds(duration: string | undefined): number {
  const m = /^(\d+)(ms|s|m)$/.exec(duration ?? "10s");
  if (!m) throw new Error(`unreadable duration ${duration}`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n / 1000 : m[2] === "m" ? n * 60 : n;
}

describe("docker-compose.yml", () => {
  it("runs every service and the edge once, with the command npm run start:distributed runs, from the image of the Dockerfile", () => {
    expect([...running.keys()].sort()).toEqual(processes.map((p) => p.name).sort());
    for (const { service, def, process } of each()) {
      expect(def.command, service).toEqual(process.command);
      expect(scriptExists(process.command), `${process.command.join(" ")} exists after npm run build`).toBe(true);
      const context = typeof def.build === "string" ? def.build : def.build?.context;
      expect(context, `${service} builds the repository's Dockerfile`).toBe(".");
    }
    // One image for all of them, built once.
    expect(new Set(each().map((r) => r.def.image)).size).toBe(1);
  });

  it("gives every process only variables its config schema reads, every one it needs, and values it accepts", () => {
    const problems = Object.fromEntries(each().map(({ service, def, process }) => [service, envProblems(process.schema, envOf(def))]));
    expect(problems).toEqual(Object.fromEntries(each().map(({ service }) => [service, []])));
  });

  it("points every <PEER>_ADDR at the container that runs that process, on the port it listens on", () => {
    for (const { service, def } of each()) {
      const env = envOf(def);
      for (const [name, entry] of env) {
        if (!name.endsWith("_ADDR") || !("value" in entry)) continue;
        const peer = running.get(name.slice(0, -"_ADDR".length).toLowerCase());
        expect(peer, `${service}: ${name} names no process`).toBeDefined();
        if (!peer) continue;
        expect(hostPort(entry.value), `${service}: ${name}`).toEqual({
          host: peer.service,
          port: listeningPort(peer.process, envOf(peer.def)),
        });
      }
    }
  });

  it("gives each service a database and a role of its own, which deploy/postgres/create-roles.sh creates on the stack's Postgres", () => {
    const script = readRepoFile("deploy/postgres/create-roles.sh");
    expect(rolesScriptServices(script)).toEqual(serviceNames);
    const postgres = services.postgres;
    expect(postgres?.volumes).toContain("./deploy/postgres/create-roles.sh:/docker-entrypoint-initdb.d/create-roles.sh:ro");
    const postgresEnv = envOf(postgres ?? {});
    const used = each().flatMap(({ service, def, process }) => {
      const url = literal(envOf(def), "DATABASE_URL");
      if (url === undefined) return [];
      const u = new URL(url);
      expect(u.hostname, service).toBe("postgres");
      expect(services[u.hostname]?.image, "the Postgres container").toMatch(/^postgres:/);
      // Its own role, never the superuser, with the password the script gives that role.
      expect(decodeURIComponent(u.username), service).toBe(`shopmesh_${process.name}`);
      expect(decodeURIComponent(u.password), service).toBe(literal(postgresEnv, `DB_PASSWORD_${process.name.toUpperCase()}`));
      return [u.pathname.slice(1)];
    });
    expect(used.sort()).toEqual(serviceNames.map((s) => `shopmesh_${s}`).sort());
  });

  it("runs Kafka with SCRAM on the services' listener and ACLs, each service its own principal with the rights its code needs", () => {
    const kafka = envOf(services.kafka ?? {});
    const listeners: Record<string, { host: string; port: number }> = Object.fromEntries(
      (literal(kafka, "KAFKA_LISTENERS") ?? "").split(",").map((l) => {
        const m = /^(\w+):\/\/([^:]*):(\d+)$/.exec(l);
        return [m?.[1] ?? l, { host: m?.[2] ?? "", port: Number(m?.[3]) }];
      }),
    );
    const protocols = Object.fromEntries(
      (literal(kafka, "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP") ?? "").split(",").map((p) => p.split(":") as [string, string]),
    );
    // Only SASL listeners are reachable from other containers; the plaintext ones are the container's own.
    for (const [name, { host }] of Object.entries(listeners)) {
      if (protocols[name] !== "SASL_PLAINTEXT" && protocols[name] !== "SASL_SSL") expect(host, name).toBe("127.0.0.1");
    }
    expect(literal(kafka, "KAFKA_AUTHORIZER_CLASS_NAME")).toMatch(/StandardAuthorizer$/);
    expect(literal(kafka, "KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND")).toBe("false");
    expect(literal(kafka, "KAFKA_SASL_ENABLED_MECHANISMS")).toBe("SCRAM-SHA-512");

    const acls = services["kafka-acls"];
    expect(acls?.volumes).toContain("./deploy/kafka/create-acls.sh:/create-acls.sh:ro");
    expect(acls?.command).toEqual(["bash", "/create-acls.sh"]);
    const aclEnv = envOf(acls ?? {});
    for (const { service, def, process } of each()) {
      if (process.name === "edge") continue;
      const env = envOf(def);
      const { host, port } = hostPort(literal(env, "KAFKA_BROKERS") ?? "");
      expect(host, service).toBe("kafka");
      const listener = Object.entries(listeners).find(([, l]) => l.port === port)?.[0] ?? "";
      expect(protocols[listener], `${service} reaches Kafka on a SASL listener`).toMatch(/^SASL_/);
      expect(literal(env, "KAFKA_SASL_MECHANISM"), service).toBe("scram-sha-512");
      expect(literal(env, "KAFKA_SASL_USERNAME"), service).toBe(process.name);
      expect(literal(env, "KAFKA_SASL_PASSWORD"), service).toBe(literal(aclEnv, `KAFKA_PASSWORD_${process.name.toUpperCase()}`));
      expect(dependsOn(def)["kafka-acls"], service).toBe("service_completed_successfully");
    }
    expect(literal(aclEnv, "SCRAM_MECHANISM")).toBe("SCRAM-SHA-512");
    expect(aclScriptAccess(readRepoFile("deploy/kafka/create-acls.sh"))).toEqual(kafkaAccess());
  });

  it("issues the mesh's certificates into a volume before any service starts, mounted read-only where SHOPMESH_TLS_DIR points in every process", () => {
    const issuers = Object.entries(services).filter(
      ([, d]) => Array.isArray(d.command) && d.command.includes("launcher/dist/issue-certs.js"),
    );
    expect(issuers).toHaveLength(1);
    const [issuer, def] = issuers[0] as [string, ComposeService];
    const command = def.command as string[];
    expect(scriptExists(command), `${command.join(" ")} exists after npm run build`).toBe(true);
    const dir = command[command.indexOf("--dir") + 1];
    const volume = def.volumes?.find((v) => v.endsWith(`:${dir}`))?.split(":")[0];
    expect(volume, `${issuer} writes ${dir} into a named volume`).toBeDefined();
    for (const { service, def: d, process } of each()) {
      const tlsDir = literal(envOf(d), "SHOPMESH_TLS_DIR");
      expect(d.volumes, service).toContain(`${volume}:${tlsDir}:ro`);
      // The edge waits for the services, which wait for the certificates.
      if (process.name !== "edge") expect(dependsOn(d)[issuer], service).toBe("service_healthy");
    }
    expect(def.healthcheck?.test, `${issuer} is healthy once the certificates exist`).toBeDefined();
  });

  it("starts a service once Postgres is healthy and the topics exist, and the edge once every service is healthy", () => {
    for (const { service, def, process } of each()) {
      const deps = dependsOn(def);
      if (process.name === "edge") {
        const expected = Object.fromEntries(each().flatMap((r) => (r.process.name === "edge" ? [] : [[r.service, "service_healthy"]])));
        expect(deps, service).toEqual(expected);
      } else {
        expect(deps, service).toMatchObject({ postgres: "service_healthy", "kafka-topics": "service_completed_successfully" });
      }
    }
    expect(services.postgres?.healthcheck?.test).toBeDefined();
    expect(dependsOn(services["kafka-topics"] ?? {})).toEqual({ kafka: "service_healthy" });
  });

  it("checks each process's readiness on its own port, with the node the image has", () => {
    for (const { service, def, process } of each()) {
      const test = def.healthcheck?.test ?? [];
      expect(test.slice(0, 2), service).toEqual(["CMD", "node"]);
      const url = /http:\/\/127\.0\.0\.1:(\d+)(\/\w+)/.exec(test.join(" "));
      const env = envOf(def);
      // The edge reports on its public port whether every service it fronts serves; a service on its admin port.
      const port =
        process.name === "edge"
          ? listeningPort(process, env)
          : Number(literal(env, "METRICS_PORT") ?? process.schema.METRICS_PORT?.default);
      expect(url?.slice(1), service).toEqual([String(port), "/readyz"]);
    }
  });

  it("gives a stopping process more time than its shutdown grace before SIGKILL", () => {
    for (const { service, def, process } of each()) {
      const graceMs = Number(literal(envOf(def), "SHUTDOWN_GRACE_MS") ?? process.schema.SHUTDOWN_GRACE_MS?.default ?? 10_000);
      expect(seconds(def.stop_grace_period), service).toBeGreaterThan(graceMs / 1000);
    }
  });

  it("pins every image it pulls to a version", () => {
    for (const [service, def] of Object.entries(services)) {
      if (def.build !== undefined) continue;
      expect(def.image, service).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(def.image, service).not.toMatch(/:latest$/);
    }
  });

  it("publishes its ports on 127.0.0.1 only, and docs/deployment.md says what each one is", () => {
    const readme = readRepoFile("docs/deployment.md");
    const published = Object.entries(services).flatMap(([service, def]) => (def.ports ?? []).map((p) => ({ service, p })));
    expect(published.length).toBeGreaterThan(0);
    for (const { service, p } of published) {
      const m = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(p);
      expect(m, `${service} publishes ${p}`).not.toBeNull();
      expect(readme, `docs/deployment.md lists localhost:${m?.[1]} (${service})`).toContain(`localhost:${m?.[1]}`);
    }
    expect(readme).toContain("docker compose up");
  });

  it("sends the spans of every process to the collector, and the collector sends them to Jaeger", () => {
    const collector = readYaml("deploy/otel-collector/config.yaml") as any;
    const httpPort = hostPort(collector.receivers.otlp.protocols.http.endpoint).port;
    for (const { service, def } of each()) {
      const endpoint = literal(envOf(def), "OTEL_EXPORTER_OTLP_ENDPOINT");
      expect(endpoint, service).toBeDefined();
      const { host, port } = hostPort(endpoint ?? "");
      expect(services[host]?.image, `${service} sends spans to the collector`).toMatch(/^otel\/opentelemetry-collector/);
      expect(port).toBe(httpPort);
      expect(services[host]?.volumes?.some((v) => v.startsWith("./deploy/otel-collector/config.yaml:"))).toBe(true);
    }
    const exporters: string[] = collector.service.pipelines.traces.exporters;
    expect(exporters.length).toBeGreaterThan(0);
    for (const name of exporters) {
      expect(services[hostPort(collector.exporters[name].endpoint).host]?.image, name).toMatch(/^jaegertracing\//);
    }
  });

  it("sends the notification emails to Mailpit", () => {
    const smtp = literal(envOf(running.get("notification")?.def ?? {}), "SMTP_URL");
    expect(services[hostPort(smtp ?? "").host]?.image).toMatch(/^axllent\/mailpit:/);
  });

  it("provisions Grafana with the stack's Prometheus and Jaeger, and with the dashboards of deploy/grafana/dashboards", () => {
    const grafana = services.grafana;
    expect(grafana?.volumes).toContain("./deploy/grafana/provisioning:/etc/grafana/provisioning:ro");
    const { providers } = readYaml("deploy/grafana/provisioning/dashboards/dashboards.yaml") as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(providers.map((p) => p.type)).toEqual(["file"]);
    expect(grafana?.volumes).toContain(`./deploy/grafana/dashboards:${providers[0]?.options.path}:ro`);
    const { datasources } = readYaml("deploy/grafana/provisioning/datasources/datasources.yaml") as {
      datasources: Array<{ type: string; url: string }>;
    };
    expect(datasources.map((d) => d.type).sort()).toEqual(["jaeger", "prometheus"]);
    for (const d of datasources)
      expect(services[new URL(d.url).hostname]?.image, d.url).toMatch(d.type === "jaeger" ? /^jaegertracing\// : /^prom\//);
  });

  describeWithPromtool("its Prometheus", () => {
    it("scrapes the admin port of every process, loads deploy/prometheus/alerts.yml, and promtool accepts its configuration", async () => {
      const prometheus = services.prometheus;
      expect(prometheus?.volumes).toContain("./deploy/prometheus:/etc/prometheus:ro");
      expect(prometheus?.command).toContain("--config.file=/etc/prometheus/prometheus.yml");
      const config = readYaml("deploy/prometheus/prometheus.yml") as {
        rule_files?: string[];
        scrape_configs: Array<{ static_configs?: Array<{ targets: string[] }> }>;
      };
      // Relative to prometheus.yml: the alert rules next to it in deploy/prometheus.
      expect(config.rule_files).toEqual(["alerts.yml"]);
      const targets = config.scrape_configs.flatMap((c) => (c.static_configs ?? []).flatMap((s) => s.targets)).sort();
      const admin = each()
        .map(({ service, def, process }) => `${service}:${literal(envOf(def), "METRICS_PORT") ?? process.schema.METRICS_PORT?.default}`)
        .sort();
      expect(targets).toEqual(admin);
      const check = await promtool(["check", "config", "--syntax-only", repoPath("deploy/prometheus/prometheus.yml")]);
      expect(check.code, check.output).toBe(0);
    });
  });
});
