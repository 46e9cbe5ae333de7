import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { apiDocsFiles } from "./api-docs.js";

describe("generated API docs", () => {
  it("docs/api and docs/rpc match the contracts (regenerate with npm run docs:api)", () => {
    const root = new URL("../../../", import.meta.url);
    const { version } = JSON.parse(readFileSync(new URL("edge/package.json", root), "utf8")) as { version: string };
    for (const [path, content] of apiDocsFiles(version)) {
      expect(readFileSync(new URL(path, root), "utf8"), path).toBe(content);
    }
  });
});
