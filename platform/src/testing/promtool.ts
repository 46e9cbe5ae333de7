import { execFile, execFileSync } from "node:child_process";

/** Whether `promtool` (Debian's `prometheus` package; scripts/ensure-promtool.sh) runs here, probed once. */
let available: boolean | undefined;

function promtoolAvailable(): boolean {
  if (available === undefined) {
    try {
      execFileSync("promtool", ["--version"], { stdio: "ignore", timeout: 10_000 });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

/** Why promtool cannot check output here, or undefined when it can. */
export function promtoolMissing(): string | undefined {
  return promtoolAvailable() ? undefined : "promtool is not installed (run scripts/ensure-promtool.sh)";
}

/** Runs `promtool ...args` with `stdin`; resolves to its exit code and output (stdout and stderr). */
export function promtool(args: readonly string[], stdin = ""): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile("promtool", [...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
      if (err && code === -1) reject(err);
      else resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(stdin);
  });
}
