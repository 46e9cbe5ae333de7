import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configTable } from "./config-table.js";

describe("README", () => {
  it("lists exactly the variables the processes validate (regenerate with npm run docs:config)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const start = readme.indexOf("<!-- config-table:start -->");
    const end = readme.indexOf("<!-- config-table:end -->");
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    const inReadme = readme.slice(start + "<!-- config-table:start -->".length, end).trim();
    expect(inReadme).toBe(configTable());
  });
});
