import { closeSync, openSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { hasExited, spawnChild, stopChild } from "./children.js";
import { readMemory } from "./proc-status.js";
import { HarnessError, logTail, type RunningSystem } from "./system.js";

const SERVER_SCRIPT = fileURLToPath(new URL("./baseline-server.js", import.meta.url));

/** Starts baseline-server.js as a child and resolves once it prints its URL. */
export async function startBaseline(options: { logPath: string; timeoutMs?: number }): Promise<RunningSystem> {
  const logFd = openSync(options.logPath, "a");
  const child = spawnChild(process.execPath, [SERVER_SCRIPT], { stdio: ["pipe", "pipe", logFd] });
  closeSync(logFd);
  const { pid } = child;
  if (pid === undefined || !child.stdout) throw new HarnessError(`could not spawn ${SERVER_SCRIPT}`);

  const { url, grpcPort } = await new Promise<{ url: string; grpcPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no ready line within ${options.timeoutMs ?? 10_000} ms`), options.timeoutMs ?? 10_000);
    const lines = createInterface({ input: child.stdout! });
    function fail(why: string) {
      clearTimeout(timer);
      lines.close();
      reject(new HarnessError(`baseline server: ${why}\n${logTail(options.logPath)}`));
    }
    lines.on("line", (line) => {
      try {
        const msg = JSON.parse(line) as { ready?: boolean; url?: string; grpcPort?: number };
        if (msg.ready && typeof msg.url === "string" && typeof msg.grpcPort === "number") {
          clearTimeout(timer);
          lines.close();
          resolve({ url: msg.url, grpcPort: msg.grpcPort });
        }
      } catch {
        // not the ready line
      }
    });
    child.once("exit", (code, signal) => fail(`exited before ready (code ${code}, signal ${signal})`));
    child.once("error", (err) => fail(err.message));
  });
  // Nothing more is read from stdout; keep the pipe drained anyway.
  child.stdout.resume();

  return {
    name: "baseline",
    url,
    grpc: { echo: `127.0.0.1:${grpcPort}` },
    pid,
    logPath: options.logPath,
    memory: () => readMemory(pid),
    stop: async () => {
      child.stdin?.end();
      return hasExited(child) ? stopChild(child) : stopChild(child, 5_000);
    },
  };
}
