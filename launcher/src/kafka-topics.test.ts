import { readdirSync, readFileSync } from "node:fs";
import { eventTopic } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);

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
    const script = readFileSync(new URL("deploy/kafka/create-topics.sh", root), "utf8");
    const domains = /^DOMAINS=\(([^)]*)\)/m.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
    const created = domains.flatMap((d) => [`shop.${d}.v1`, `shop.${d}.v1.dlq`]).sort();

    const types = eventTypes();
    expect(types.length).toBeGreaterThan(0);
    const used = [...new Set(types.map(eventTopic))].flatMap((t) => [t, `${t}.dlq`]).sort();
    expect(created).toEqual(used);
  });
});
