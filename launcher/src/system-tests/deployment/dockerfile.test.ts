import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { defaultApiDocsDir, defaultWebAppDir } from "@shopmesh/edge";
import { describe, expect, it } from "vitest";
import { migrateScript, processes, readRepoFile, readYaml, repoPath, repoRoot, scriptExists } from "./processes.js";

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: Instruction[];
}

/** The Dockerfile's stages and their instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op = "", ...rest] = line.split(/\s+/);
    const argText = rest.join(" ");
    const current = stages.at(-1);
    if (op.toUpperCase() === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(argText);
      stages.push({ from: m?.[1] ?? "", name: m?.[2] ?? String(stages.length), instructions: [] });
    } else if (!current && op.toUpperCase() === "ARG") {
      const [k = "", v = ""] = argText.split("=");
      args.set(k, v);
    } else {
      current?.instructions.push({ op: op.toUpperCase(), args: argText });
    }
  }
  return { args, stages };
}

const dockerfile = parseDockerfile(readRepoFile("Dockerfile"));
const stage = (name: string): Stage => {
  const s = dockerfile.stages.find((x) => x.name === name);
  if (!s) throw new Error(`the Dockerfile has no stage ${name}`);
  return s;
};
const runtime = dockerfile.stages.at(-1) as Stage;
const copies = (s: Stage) =>
  s.instructions
    .filter((i) => i.op === "COPY")
    .map((i) => {
      const words = i.args.split(/\s+/);
      const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
      const paths = words.filter((w) => !w.startsWith("--"));
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? "" };
    });

/** The workspaces of the root package.json, globs expanded, as folder paths. */
function workspaces(): string[] {
  const pkg = JSON.parse(readRepoFile("package.json")) as { workspaces: string[] };
  return pkg.workspaces.flatMap((w) => {
    if (!w.endsWith("/*")) return [w];
    const dir = w.slice(0, -2);
    return readdirSync(repoPath(dir))
      .filter((d) => existsSync(repoPath(`${dir}/${d}/package.json`)))
      .map((d) => `${dir}/${d}`);
  });
}

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
const packageOf = (dir: string) => JSON.parse(readRepoFile(`${dir}/package.json`)) as PackageJson;
const dirOfPackage = new Map(workspaces().map((dir) => [packageOf(dir).name, dir]));

/** The workspaces the image runs: those of its entry points and, transitively, their workspace dependencies. */
function runtimeWorkspaces(): string[] {
  const entries = [...processes.map((p) => p.command[1] ?? ""), migrateScript].map((script) => script.replace(/\/dist\/.*$/, ""));
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    for (const dep of Object.keys(packageOf(dir).dependencies ?? {})) {
      const d = dirOfPackage.get(dep);
      if (d) visit(d);
    }
  };
  for (const e of entries) visit(e);
  return [...seen].sort();
}

/** The module specifiers a compiled file imports (static and dynamic imports, re-exports), node built-ins left out. */
function importSpecifiers(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [
    ...text.matchAll(
      /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm,
    ),
  ].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
  return specifiers.filter((s) => !s.startsWith("node:") && !builtinModules.includes(s));
}

const packageName = (specifier: string) =>
  specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : (specifier.split("/")[0] ?? specifier);

/**
 * The compiled files the image loads: the entry points of its commands and, transitively, what
 * they import of their own package and of the other workspaces (test helpers never come in).
 */
function loadedFiles(): string[] {
  const seen = new Set<string>();
  const queue = [...processes.map((p) => p.command[1] ?? ""), migrateScript].map((script) => repoPath(script));
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importSpecifiers(file)) {
      if (spec.startsWith(".")) queue.push(resolve(dirname(file), spec));
      else if (dirOfPackage.has(packageName(spec))) queue.push(realpathSync(createRequire(file).resolve(spec)));
    }
  }
  return [...seen];
}

describe("Dockerfile", () => {
  it("builds on a slim LTS (even-numbered) Node image and runs as a non-root user by number", () => {
    const node = dockerfile.args.get("NODE_VERSION");
    expect(Number(node) % 2, `NODE_VERSION=${node}`).toBe(0);
    expect(Number(node)).toBeGreaterThanOrEqual(22);
    for (const s of dockerfile.stages) expect(s.from, s.name).toMatch(/^node:\$\{NODE_VERSION\}-slim$|^[\w-]+$/);
    expect(runtime.from).toBe(`node:${"${"}NODE_VERSION}-slim`);
    const user = runtime.instructions.filter((i) => i.op === "USER").at(-1)?.args ?? "";
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(runtime.instructions).toContainEqual({ op: "ENV", args: "NODE_ENV=production" });
  });

  it("installs from the lockfile with every workspace's package.json, as npm ci requires", () => {
    const manifests = copies(stage("manifests")).flatMap((c) => c.sources);
    expect([...manifests].sort()).toEqual(["package.json", "package-lock.json", ...workspaces().map((w) => `${w}/package.json`)].sort());
    expect(stage("build").instructions.some((i) => i.op === "RUN" && /\bnpm ci\b/.test(i.args))).toBe(true);
  });

  it("ships the production dependencies and the compiled code of exactly the workspaces the image runs", () => {
    const needed = runtimeWorkspaces();
    expect(needed).toContain("launcher");
    const install = stage("prod-deps").instructions.find((i) => i.op === "RUN" && /\bnpm ci\b/.test(i.args))?.args ?? "";
    expect(install).toContain("--omit=dev");
    expect([...install.matchAll(/--workspace=(\S+)/g)].map((m) => m[1]).sort()).toEqual(needed);
    // The build compiles them all (tsc -b follows the launcher's project references).
    expect(stage("build").instructions).toContainEqual({ op: "RUN", args: "npx tsc -b launcher" });
    const launcherRefs = (readYaml("launcher/tsconfig.json") as { references: Array<{ path: string }> }).references.map((r) =>
      r.path.replace(/^\.\.\//, ""),
    );
    expect(["launcher", ...launcherRefs].sort()).toEqual(expect.arrayContaining(needed));

    const runtimeCopies = copies(runtime);
    expect(runtimeCopies).toContainEqual({ from: "prod-deps", sources: ["/app"], dest: "./" });
    const dists = runtimeCopies.filter((c) => c.from === "build").map((c) => `${c.sources.join(" ")} -> ${c.dest}`);
    const storefront = relative(repoRoot, defaultWebAppDir).replace(/\/$/, "");
    // The API documentation the edge serves (/api/openapi.json, /docs), where it looks for it.
    const apiDocs = relative(repoRoot, defaultApiDocsDir).replace(/\/$/, "");
    expect(dists.sort()).toEqual(
      [...needed.map((w) => `/app/${w}/dist -> ${w}/dist`), `/app/${storefront} -> ${storefront}`, `/app/${apiDocs} -> ${apiDocs}`].sort(),
    );
  });

  it("builds the storefront as npm run build does, and puts it where the edge serves it from", () => {
    const rootBuild = (JSON.parse(readRepoFile("package.json")) as { scripts: Record<string, string> }).scripts.build ?? "";
    const webBuild = /npm run build -w \S+/.exec(rootBuild)?.[0];
    expect(webBuild).toBeDefined();
    expect(stage("build").instructions).toContainEqual({ op: "RUN", args: webBuild });
    const storefront = relative(repoRoot, defaultWebAppDir).replace(/\/$/, "");
    expect(copies(runtime)).toContainEqual({ from: "build", sources: [`/app/${storefront}`], dest: storefront });
  });

  it("runs code that imports only production dependencies of its own package", () => {
    const problems: string[] = [];
    const files = loadedFiles();
    expect(files.length).toBeGreaterThan(processes.length);
    for (const file of files) {
      const dir = runtimeWorkspaces().find((w) => file.startsWith(repoPath(`${w}/dist/`)));
      if (!dir) {
        problems.push(`${relative(repoRoot, file)} is not in the dist/ of a workspace the image ships`);
        continue;
      }
      const pkg = packageOf(dir);
      const allowed = new Set([pkg.name, ...Object.keys(pkg.dependencies ?? {})]);
      for (const spec of importSpecifiers(file)) {
        const dep = packageName(spec);
        if (!spec.startsWith(".") && !allowed.has(dep))
          problems.push(`${relative(repoRoot, file)} imports ${dep}, not a dependency of ${pkg.name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("has the entry points that docker-compose.yml and the Helm chart run, after npm run build", () => {
    for (const p of processes) expect(scriptExists(p.command), p.command.join(" ")).toBe(true);
    expect(existsSync(repoPath(migrateScript))).toBe(true);
    const cmd = runtime.instructions.filter((i) => i.op === "CMD").at(-1)?.args;
    expect(JSON.parse(cmd ?? "null")).toEqual(processes.find((p) => p.name === "edge")?.command);
  });

  it("keeps dependencies, build output and the git history out of the build context", () => {
    const ignored = readRepoFile(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(ignored).toEqual(expect.arrayContaining([".git", "**/node_modules", "**/dist", "**/*.tsbuildinfo"]));
    // Nothing the build compiles is left out.
    for (const w of runtimeWorkspaces()) expect(ignored.filter((p) => p === w || p === `${w}/src` || p === w.split("/")[0])).toEqual([]);
  });
});
