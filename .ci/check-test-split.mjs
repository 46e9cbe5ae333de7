// Proves that CI's test jobs together run every test file exactly once: each job of
// .github/workflows/ci.yml runs one vitest project (`vitest run --project <name>`), and every test
// file of the repository (tracked or new, wherever it is) must be in exactly one of those
// projects. A test file outside every project's include, in two projects, or in a project no job
// runs fails here, before it can go unrun or run twice.
//
//   node .ci/check-test-split.mjs      (from the repository root; .ci/run runs it)
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { createVitest } from "vitest/node";

const WORKFLOW = ".github/workflows/ci.yml";
const TEST_FILE = /\.(test|spec)\.[cm]?[jt]sx?$/;

/** Every test file in the work tree: committed, or new and not ignored. */
function repositoryTestFiles() {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { encoding: "utf8" });
  return out
    .split("\0")
    .filter((f) => TEST_FILE.test(f) && !f.split("/").includes("node_modules"))
    .sort();
}

/** The vitest projects the workflow's jobs run, from their `vitest run … --project <name>` commands. */
function projectsRunByJobs() {
  const text = readFileSync(WORKFLOW, "utf8");
  const names = [];
  for (const line of text.split("\n")) {
    if (!/\bvitest run\b/.test(line)) continue;
    const found = [...line.matchAll(/--project[= ](\S+)/g)].map((m) => m[1]);
    if (found.length === 0) throw new Error(`${WORKFLOW}: a vitest run without --project runs every project: ${line.trim()}`);
    names.push(...found);
  }
  return names;
}

/** File → the projects whose include/exclude take it, as vitest itself resolves them. */
async function projectsByFile() {
  const vitest = await createVitest("test", { watch: false, config: "vitest.config.ts" });
  try {
    const specs = await vitest.globTestSpecifications();
    const byFile = new Map();
    for (const spec of specs) {
      const file = relative(process.cwd(), spec.moduleId);
      byFile.set(file, [...(byFile.get(file) ?? []), spec.project.name]);
    }
    return { byFile, projects: vitest.projects.map((p) => p.name) };
  } finally {
    await vitest.close();
  }
}

const problems = [];
const jobProjects = projectsRunByJobs();
const { byFile, projects } = await projectsByFile();

for (const name of jobProjects) {
  if (!projects.includes(name)) problems.push(`${WORKFLOW} runs --project ${name}, which vitest.config.ts does not define`);
}
const twice = jobProjects.filter((name, i) => jobProjects.indexOf(name) !== i);
for (const name of new Set(twice)) problems.push(`${WORKFLOW} runs --project ${name} in more than one job`);
for (const name of projects) {
  if (!jobProjects.includes(name)) problems.push(`vitest project ${name} is run by no job of ${WORKFLOW}`);
}

const files = repositoryTestFiles();
for (const file of files) {
  const inProjects = byFile.get(file) ?? [];
  const runs = inProjects.filter((p) => jobProjects.includes(p));
  if (inProjects.length === 0) problems.push(`${file}: in no vitest project (see the include patterns in vitest.config.ts)`);
  else if (runs.length === 0) problems.push(`${file}: only in project ${inProjects.join(", ")}, which no CI job runs`);
  else if (inProjects.length > 1) problems.push(`${file}: in projects ${inProjects.join(", ")}, so it would run more than once`);
}
for (const file of byFile.keys()) {
  if (!files.includes(file)) problems.push(`${file}: vitest finds it but it is not a test file of the repository`);
}

const counts = jobProjects.map((p) => `${p} ${[...byFile.values()].filter((ps) => ps.includes(p)).length}`).join(", ");
if (problems.length > 0) {
  console.log(`The CI jobs' test split is broken (${problems.length} problem${problems.length === 1 ? "" : "s"}):`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
console.log(`${files.length} test files, each run by exactly one CI job (${counts})`);
