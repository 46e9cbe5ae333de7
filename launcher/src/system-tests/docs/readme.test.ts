import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { configTable } from "../../tools/config-table.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");
/** README.md and every Markdown file under docs/, relative to the repository. */
const pages = [
  "README.md",
  ...readdirSync(join(root, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, "")
    .replace(/ /g, "-");
}

/** Text outside fenced code blocks. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "");
}

function anchorsOf(markdown: string): Set<string> {
  return new Set([...prose(markdown).matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] as string)));
}

describe("README and docs/", () => {
  it("lists exactly the variables the processes validate in docs/configuration.md (regenerate with npm run docs:config)", () => {
    const doc = read("docs/configuration.md");
    const start = doc.indexOf("<!-- config-table:start -->");
    const end = doc.indexOf("<!-- config-table:end -->");
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(doc.slice(start + "<!-- config-table:start -->".length, end).trim()).toBe(configTable());
  });

  it("keeps the README a front door: under 200 lines", () => {
    expect(read("README.md").split("\n").length).toBeLessThan(200);
  });

  it("has no broken links: every relative link names a file of the repository, and every #anchor a heading of its page", () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = prose(read(page));
      for (const m of text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        const [file, anchor] = target.split("#") as [string, string | undefined];
        const path = file === "" ? page : relative(root, join(root, dirname(page), file));
        if (!existsSync(join(root, path))) {
          broken.push(`${page}: ${target} (no ${path})`);
          continue;
        }
        if (anchor !== undefined && path.endsWith(".md") && !anchorsOf(read(path)).has(anchor))
          broken.push(`${page}: ${target} (no heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("names only commands that exist: npm scripts of the root or of the workspace named, and the files given to node and bash", () => {
    const scripts = (dir: string) => Object.keys((JSON.parse(read(join(dir, "package.json"))) as { scripts?: object }).scripts ?? {});
    const workspaces = new Map<string, string>();
    for (const dir of [
      "proto",
      "platform",
      "edge",
      "edge/web",
      "launcher",
      "bench",
      ...readdirSync(join(root, "services")).map((s) => `services/${s}`),
    ]) {
      if (existsSync(join(root, dir, "package.json")))
        workspaces.set((JSON.parse(read(join(dir, "package.json"))) as { name: string }).name, dir);
    }
    const missing: string[] = [];
    for (const page of pages) {
      const text = read(page);
      for (const m of text.matchAll(/\bnpm run ([\w:-]+)(?: -w (@?[\w/-]+))?/g)) {
        const [, script, workspace] = m as unknown as [string, string, string | undefined];
        const dir = workspace === undefined ? "." : workspaces.get(workspace);
        if (dir === undefined || !scripts(dir).includes(script))
          missing.push(`${page}: npm run ${script}${workspace ? ` -w ${workspace}` : ""}`);
      }
      for (const m of text.matchAll(/\b(?:bash|sh|python3) ((?:scripts|deploy)\/[\w./-]+)/g)) {
        if (!existsSync(join(root, m[1] as string))) missing.push(`${page}: ${m[0]}`);
      }
      for (const m of text.matchAll(/\bnode ((?:[\w-]+\/)+)dist\/([\w-]+)\.js/g)) {
        // Compiled from src/<name>.ts; `<service>` placeholders are not checked.
        const src = `${m[1]}src/${m[2]}.ts`;
        if (!m[1]?.includes("<") && !existsSync(join(root, src))) missing.push(`${page}: ${m[0]} (no ${src})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
