import { readdirSync, readFileSync } from "node:fs";
import { eventTopic } from "@shopmesh/platform";
import { describeNeeding } from "@shopmesh/platform/testing";
import { describe, expect, it } from "vitest";
import { helmMissing, renderChart } from "./helm.js";
import { readYaml } from "./processes.js";

const root = new URL("../../../../", import.meta.url);
const scriptPath = "deploy/kafka/create-topics.sh";
const script = readFileSync(new URL(scriptPath, root), "utf8");

/** Every event type the contracts declare: the messages of proto/shop/<domain>/v1/events.proto. */
function eventTypes(): string[] {
  const shop = new URL("proto/shop/", root);
  return readdirSync(shop).flatMap((domain) => {
    let text: string;
    try {
      text = readFileSync(new URL(`${domain}/v1/events.proto`, shop), "utf8");
    } catch {
      return [];
    }
    const pkg = /^package\s+([\w.]+);/m.exec(text)?.[1];
    if (!pkg) throw new Error(`proto/shop/${domain}/v1/events.proto has no package`);
    return [...text.matchAll(/^message\s+(\w+)/gm)].map((m) => `${pkg}.${m[1]}`);
  });
}

describe("deploy/kafka/create-topics.sh", () => {
  it("creates the topic of every event type in the contracts and its dead-letter topic, and no other", () => {
    const domains = /^DOMAINS=\(([^)]*)\)/m.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
    const created = domains.flatMap((d) => [`shop.${d}.v1`, `shop.${d}.v1.dlq`]).sort();

    const types = eventTypes();
    expect(types.length).toBeGreaterThan(0);
    const used = [...new Set(types.map(eventTopic))].flatMap((t) => [t, `${t}.dlq`]).sort();
    expect(created).toEqual(used);
  });

  it("is what docker-compose.yml runs before the services, on the broker they use (its own local listener)", () => {
    const { services } = readYaml("docker-compose.yml") as {
      services: Record<
        string,
        { command?: string[]; volumes?: string[]; environment?: Record<string, string>; network_mode?: string; image?: string }
      >;
    };
    const topics = services["kafka-topics"];
    const mount = topics?.volumes?.find((v) => v.startsWith(`./${scriptPath}:`))?.split(":")[1];
    expect(mount).toBeDefined();
    expect(topics?.command).toEqual(["bash", mount]);
    const brokers = new Set(Object.values(services).flatMap((s) => (s.environment?.KAFKA_BROKERS ? [s.environment.KAFKA_BROKERS] : [])));
    expect([...brokers]).toEqual(["kafka:9092"]);
    // In the broker container's network namespace, on a listener of that broker bound to 127.0.0.1.
    expect(services.kafka?.image).toMatch(/^apache\/kafka:/);
    expect(topics?.network_mode).toBe("service:kafka");
    const listeners = (services.kafka?.environment?.KAFKA_LISTENERS ?? "").split(",").map((l) => l.replace(/^\w+:\/\//, ""));
    expect(listeners).toContain(topics?.environment?.KAFKA_BOOTSTRAP);
    expect(topics?.environment?.KAFKA_BOOTSTRAP).toMatch(/^127\.0\.0\.1:/);
    expect(services["kafka-acls"]?.network_mode).toBe("service:kafka");
    expect(services["kafka-acls"]?.environment?.KAFKA_BOOTSTRAP).toBe(topics?.environment?.KAFKA_BOOTSTRAP);
  });

  describeNeeding("in the Helm chart", helmMissing(), () => {
    it("is what the chart's topic Job runs before an install or upgrade, on the brokers the services use", async () => {
      const objects = await renderChart(["--set", "kafka.brokers=k1:9092\\,k2:9092"]);
      const jobs = objects.filter((o) => o.kind === "Job" && o.spec.template.spec.containers[0].command[2] === script);
      expect(jobs).toHaveLength(1);
      const job = jobs[0] as Record<string, any>;
      const container = job.spec.template.spec.containers[0];
      expect(container.command.slice(0, 3)).toEqual(["bash", "-c", script]);
      expect(job.metadata.annotations["helm.sh/hook"].split(",").sort()).toEqual(["pre-install", "pre-upgrade"]);
      const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
      expect(env.KAFKA_BOOTSTRAP).toBe("k1:9092,k2:9092");
      const brokers = new Set(objects.filter((o) => o.kind === "ConfigMap" && o.data?.KAFKA_BROKERS).map((o) => o.data.KAFKA_BROKERS));
      expect([...brokers]).toEqual(["k1:9092,k2:9092"]);
    });
  });
});
